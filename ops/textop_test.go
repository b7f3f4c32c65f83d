package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// --yes answers plain steps, but never a manual one (ca-host,
// haproxy-restart, access): that step is done by the operator elsewhere, so
// it is asked on stdin, and without stdin the run fails saying why. JSON
// prompts say the step is manual.
func TestYesNeverAnswersAManualStep(t *testing.T) {
	proc := &Procedure{Name: "test", Steps: []*Step{
		{ID: "plain", Title: "plain"},
		{ID: "haproxy-restart", Title: "Restart haproxy on the load balancer", Manual: true},
	}}
	ask := func(op *TextOperator, i int) (Answer, error) {
		return op.Ask(context.Background(), Prompt{Procedure: proc, Index: i, Step: proc.Steps[i], Choices: []Decision{Proceed, Abort}})
	}

	var out bytes.Buffer
	op := &TextOperator{In: strings.NewReader(""), Out: &out, Yes: true}
	if a, err := ask(op, 0); err != nil || a.Decision != Proceed {
		t.Fatalf("--yes must accept a plain step: %+v %v", a, err)
	}
	a, err := ask(op, 1)
	if err == nil || a.Decision == Proceed || !strings.Contains(err.Error(), "manual step haproxy-restart") || !strings.Contains(err.Error(), "--yes never answers it") {
		t.Fatalf("--yes without stdin must fail the manual step clearly: %+v %v", a, err)
	}
	if !strings.Contains(out.String(), "(manual)") {
		t.Errorf("the step must be shown as manual:\n%s", out.String())
	}

	op = &TextOperator{In: strings.NewReader("proceed\n"), Out: &out, Yes: true}
	if a, err := ask(op, 1); err != nil || a.Decision != Proceed {
		t.Fatalf("the operator's own word confirms a manual step: %+v %v", a, err)
	}

	out.Reset()
	op = &TextOperator{In: strings.NewReader(""), Out: &out, Yes: true, JSON: true}
	_, _ = ask(op, 1)
	var prompt map[string]any
	if err := json.NewDecoder(strings.NewReader(out.String())).Decode(&prompt); err != nil || prompt["manual"] != true || prompt["prompt"] != "haproxy-restart" {
		t.Errorf("the JSON prompt must say the step is manual: %v %v", prompt, err)
	}
}
