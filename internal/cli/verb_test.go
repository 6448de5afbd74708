package cli

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

// recordingVerb records the calls runVerb makes, and fails where it is told to.
type recordingVerb struct {
	calls          []string
	failAt         string
	gotFactory     Factory
	gotArgs        []string
	gotCtxIsNotNil bool
	gotCmdIsTheCmd bool
	cmd            *cobra.Command
}

func (v *recordingVerb) step(name string) error {
	v.calls = append(v.calls, name)
	if v.failAt == name {
		return errors.New(name + " failed")
	}
	return nil
}

func (v *recordingVerb) Complete(f Factory, cmd *cobra.Command, args []string) error {
	v.gotFactory, v.gotArgs, v.gotCmdIsTheCmd = f, args, cmd == v.cmd
	return v.step("Complete")
}

func (v *recordingVerb) Validate() error { return v.step("Validate") }

func (v *recordingVerb) Run(ctx context.Context) error {
	v.gotCtxIsNotNil = ctx != nil
	return v.step("Run")
}

func TestRunVerb(t *testing.T) {
	cases := []struct {
		failAt    string
		wantCalls []string
		wantErr   string
	}{
		{wantCalls: []string{"Complete", "Validate", "Run"}},
		{failAt: "Complete", wantCalls: []string{"Complete"}, wantErr: "Complete failed"},
		{failAt: "Validate", wantCalls: []string{"Complete", "Validate"}, wantErr: "Validate failed"},
		{failAt: "Run", wantCalls: []string{"Complete", "Validate", "Run"}, wantErr: "Run failed"},
	}
	for _, tc := range cases {
		name := "fail at " + tc.failAt
		if tc.failAt == "" {
			name = "all succeed"
		}
		t.Run(name, func(t *testing.T) {
			f := newTestFactory()
			cmd := &cobra.Command{}
			v := &recordingVerb{failAt: tc.failAt, cmd: cmd}
			// No context set on the command: Run still gets one.
			err := runVerb(f, v)(cmd, []string{"a", "b"})
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tc.wantErr {
				t.Errorf("error %q, want %q", gotErr, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantCalls, v.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if v.gotFactory != f || !v.gotCmdIsTheCmd || !cmp.Equal(v.gotArgs, []string{"a", "b"}) {
				t.Errorf("Complete got factory %v, the command %t, args %q", v.gotFactory, v.gotCmdIsTheCmd, v.gotArgs)
			}
			if tc.failAt == "" && !v.gotCtxIsNotNil {
				t.Error("Run got a nil context")
			}
		})
	}
}
