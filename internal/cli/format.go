package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeswarm/kubeswarm/internal/dockerapi"
)

// templateFuncs are the docker CLI's template functions (cli/templates).
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"join":  strings.Join,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"println": fmt.Sprintln,
}

// parseTemplate parses a --format value as the docker CLI does: "\t" and "\n" written as escapes
// become tabs and newlines.
func parseTemplate(format string) (*template.Template, error) {
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	t, err := template.New("").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return t, nil
}

// writeFormatted prints rows in the given --format: "table …" (a header from headers, columns
// aligned as docker's tabwriter does), "json" (one object per line), or a Go template per row.
// An empty format is defaultFormat.
func writeFormatted(out io.Writer, format, defaultFormat string, headers map[string]string, rows []any) error {
	if format == "" {
		format = defaultFormat
	}
	if format == "json" {
		for _, r := range rows {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintln(out, string(b)); err != nil {
				return err
			}
		}
		return nil
	}
	table := false
	if strings.HasPrefix(format, "table") {
		table = true
		format = strings.TrimSpace(strings.TrimPrefix(format, "table"))
		if format == "" {
			format = strings.TrimSpace(strings.TrimPrefix(defaultFormat, "table"))
		}
	}
	t, err := parseTemplate(format)
	if err != nil {
		return err
	}
	var w io.Writer = out
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
		w = tw
		var hb bytes.Buffer
		if err := t.Execute(&hb, headers); err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
		fmt.Fprintln(w, strings.TrimRight(hb.String(), " "))
	}
	for _, r := range rows {
		var b bytes.Buffer
		if err := t.Execute(&b, r); err != nil {
			return fmt.Errorf("executing the template: %w", err)
		}
		fmt.Fprintln(w, b.String())
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// shortID is a Kubernetes UID as the docker ID the Engine API endpoint shows for it
// (dockerapi.ID, 25 characters), its first 12 unless noTrunc, as docker truncates IDs.
func shortID(uid string, noTrunc bool) string {
	id := dockerapi.ID(types.UID(uid))
	if !noTrunc && len(id) > 12 {
		return id[:12]
	}
	return id
}

// humanDuration is docker's go-units HumanDuration: "Less than a second", "About a minute", …
func humanDuration(d time.Duration) string {
	if seconds := int(d.Seconds()); seconds < 1 {
		return "Less than a second"
	} else if seconds == 1 {
		return "1 second"
	} else if seconds < 60 {
		return fmt.Sprintf("%d seconds", seconds)
	} else if minutes := int(d.Minutes()); minutes == 1 {
		return "About a minute"
	} else if minutes < 60 {
		return fmt.Sprintf("%d minutes", minutes)
	} else if hours := int(d.Hours() + 0.5); hours == 1 {
		return "About an hour"
	} else if hours < 48 {
		return fmt.Sprintf("%d hours", hours)
	} else if hours < 24*7*2 {
		return fmt.Sprintf("%d days", hours/24)
	} else if hours < 24*30*2 {
		return fmt.Sprintf("%d weeks", hours/24/7)
	} else if hours < 24*365*2 {
		return fmt.Sprintf("%d months", hours/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// filters are docker's --filter key=value pairs.
type filters map[string][]string

func parseFilters(in []string, allowed ...string) (filters, error) {
	f := filters{}
	for _, s := range in {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value)")
		}
		k = strings.ToLower(strings.TrimSpace(k))
		found := false
		for _, a := range allowed {
			if a == k {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// match tells whether value passes the filter key: true when the key is not given, or when one
// of its values matches (by test).
func (f filters) match(key string, test func(string) bool) bool {
	vals, ok := f[key]
	if !ok {
		return true
	}
	for _, v := range vals {
		if test(v) {
			return true
		}
	}
	return false
}

// matchLabels is docker's label filter: "key" (present) or "key=value".
func (f filters) matchLabels(key string, labels map[string]string) bool {
	vals, ok := f[key]
	if !ok {
		return true
	}
	for _, v := range vals {
		k, want, hasValue := strings.Cut(v, "=")
		got, present := labels[k]
		if !present || (hasValue && got != want) {
			return false
		}
	}
	return true
}
