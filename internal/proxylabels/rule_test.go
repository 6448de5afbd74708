package proxylabels

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAlternatives(t *testing.T) {
	m := func(name string, args ...string) term { return term{matcherExpr: matcherExpr{Name: name, Args: args}} }
	cases := []struct {
		rule string
		want [][]term
	}{
		{"Host(`a.com`)", [][]term{{m("Host", "a.com")}}},
		// && binds tighter than ||.
		{"Host(`a.com`) || Host(`b.com`) && Path(`/x`)", [][]term{{m("Host", "a.com")}, {m("Host", "b.com"), m("Path", "/x")}}},
		// Parentheses distribute.
		{"Host(`a.com`) && (PathPrefix(`/a`) || PathPrefix(`/b`))", [][]term{
			{m("Host", "a.com"), m("PathPrefix", "/a")}, {m("Host", "a.com"), m("PathPrefix", "/b")}}},
		// Traefik v2: several arguments are alternatives; double quotes and spaces are read too.
		{`Host("a.com", "b.com")  &&  Headers("X-Env", "prod")`, [][]term{
			{m("Host", "a.com"), m("Headers", "X-Env", "prod")}, {m("Host", "b.com"), m("Headers", "X-Env", "prod")}}},
		{"!Method(`POST`)", [][]term{{{matcherExpr: matcherExpr{Name: "Method", Args: []string{"POST"}}, Not: true}}}},
		{"PathPrefix(`/`)", [][]term{{m("PathPrefix", "/")}}},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			e, err := parseRule(tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			got, err := alternatives(e)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(term{})); diff != "" {
				t.Errorf("alternatives (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRuleErrors(t *testing.T) {
	cases := []struct {
		rule string
		pos  int
	}{
		{"Host(`a.com`", 12},
		{"Host(`a.com)", 5},
		{"(Host(`a.com`)", 14},
		{"Host(`a.com`) &&", 16},
		{"Host(`a.com`) Path(`/`)", 14},
		{"Host(a.com)", 5},
		{"", 0},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			_, err := parseRule(tc.rule)
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("parseRule(%q) = %v, want a RuleError", tc.rule, err)
			}
			if re.Pos != tc.pos {
				t.Errorf("error %q at %d, want %d", err, re.Pos, tc.pos)
			}
		})
	}
}

func TestAlternativesBounded(t *testing.T) {
	rule := "(Path(`/a`) || Path(`/b`)) && (Path(`/a`) || Path(`/b`)) && (Path(`/a`) || Path(`/b`)) && (Path(`/a`) || Path(`/b`)) && (Path(`/a`) || Path(`/b`)) && (Path(`/a`) || Path(`/b`))"
	e, err := parseRule(rule)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alternatives(e); err == nil {
		t.Error("64 alternatives were expanded; want an error past 32")
	}
}

func TestWildcardHost(t *testing.T) {
	cases := []struct {
		re, want string
		wantErr  bool
	}{
		{re: "{subdomain:[a-z]+}.example.com", want: "*.example.com"},
		{re: "{name}.Example.com", want: "*.example.com"},
		{re: `^.+\.example\.com$`, want: "*.example.com"},
		{re: `^[^.]+\.apps\.example\.org$`, want: "*.apps.example.org"},
		{re: `[a-z0-9-]+\.example\.com`, want: "*.example.com"},
		{re: `^(www|api)\.example\.com$`, wantErr: true},
		{re: `^example\.(com|org)$`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.re, func(t *testing.T) {
			got, err := wildcardHost(tc.re)
			if (err != nil) != tc.wantErr {
				t.Fatalf("wildcardHost(%q) error = %v, want error %v", tc.re, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("wildcardHost(%q) = %q, want %q", tc.re, got, tc.want)
			}
		})
	}
}
