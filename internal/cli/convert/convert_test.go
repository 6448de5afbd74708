package convert

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// lean is the command as cmd/kubectl-swarm-convert makes it: its own -n.
func lean(in string) (*cobra.Command, *bytes.Buffer) {
	var out bytes.Buffer
	cmd := NewCommand(strings.NewReader(in), &out, &bytes.Buffer{})
	cmd.Flags().StringP("namespace", "n", "", "")
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd, &out
}

func TestCommand(t *testing.T) {
	const compose = "services:\n  web:\n    image: nginx\n"
	tests := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
		err     string
	}{
		{name: "no file", args: nil, err: "Please specify a Compose file (with --compose-file)."},
		{name: "stdin, named", args: []string{"-c", "-", "demo"}, want: []string{"kind: Stack", "name: demo", "image: nginx"}, notWant: []string{"namespace:"}},
		{name: "namespace only when given", args: []string{"-c", "-", "-n", "prod", "demo"}, want: []string{"namespace: prod"}},
		{name: "two stack names", args: []string{"-c", "-", "a", "b"}, err: "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, out := lean(compose)
			cmd.SetArgs(tt.args)
			err := cmd.Execute()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}
