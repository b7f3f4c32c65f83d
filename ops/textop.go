package ops

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// TextOperator drives a run from a plain terminal or a script: `day2 run`.
// It prints events and asks on In; with Yes it accepts every step that is
// neither destructive nor manual, and a destructive step proceeds only with
// Confirm (the exact word the step wants). A manual step is always asked on
// In: only the operator knows it was done elsewhere. It never answers the
// same failed prompt twice on its own: a non-interactive run aborts instead
// of looping.
type TextOperator struct {
	In      io.Reader
	Out     io.Writer
	JSON    bool   // events and prompts as JSON lines
	Yes     bool   // accept steps neither destructive nor manual
	Confirm string // the typed confirmation for destructive steps

	lines   *bufio.Scanner
	shown   map[string]bool // steps whose explanation was printed
	answers map[string]int  // automatic answers given per step
}

func (t *TextOperator) init() {
	if t.lines == nil {
		t.lines = bufio.NewScanner(t.In)
		t.shown, t.answers = map[string]bool{}, map[string]int{}
	}
}

// Notify prints one event.
func (t *TextOperator) Notify(e Event) {
	if t.JSON {
		_ = json.NewEncoder(t.Out).Encode(e)
		return
	}
	if e.State == StateWaiting {
		return // Ask prints the prompt itself
	}
	line := fmt.Sprintf("[%s] %s: %s", e.Procedure, e.Step, e.State)
	if e.Message != "" {
		line += ": " + e.Message
	}
	fmt.Fprintln(t.Out, line)
	if e.State == StatePlanned {
		for _, p := range e.Plan {
			fmt.Fprintln(t.Out, "    "+p)
		}
	}
}

// Ask shows the step and its plan and reads the decision.
func (t *TextOperator) Ask(ctx context.Context, p Prompt) (Answer, error) {
	t.init()
	st := p.Step
	if t.JSON {
		_ = json.NewEncoder(t.Out).Encode(map[string]any{"prompt": st.ID, "title": st.Title, "plan": p.Plan, "problem": p.Problem,
			"choices": p.Choices, "destructive": st.Destructive, "manual": st.Manual, "confirm": st.Confirm})
	} else {
		t.describe(p)
	}
	if a, ok := t.automatic(p); ok {
		return a, nil
	}
	if t.Yes && !st.Manual {
		// Scripted run and nothing safe to answer: stop rather than guess.
		return Answer{Decision: Abort}, nil
	}
	for {
		if st.Manual && allowed(Proceed, p.Choices) {
			fmt.Fprintln(t.Out, "This step is manual: do it as the plan says, then answer proceed (--yes never answers a manual step).")
		}
		if st.Destructive && allowed(Proceed, p.Choices) {
			fmt.Fprintf(t.Out, "Type %q to run this step, or %s: ", st.Confirm, choiceWords(p.Choices, true))
		} else {
			fmt.Fprintf(t.Out, "%s [default: abort]: ", choiceWords(p.Choices, false))
		}
		line, err := t.ReadLine(ctx)
		if err != nil {
			if st.Manual {
				return Answer{}, fmt.Errorf("manual step %s needs the operator's word on stdin (--yes never answers it): %w", st.ID, err)
			}
			return Answer{}, err
		}
		if a, ok := ParseAnswer(line, p); ok {
			return a, nil
		}
		fmt.Fprintf(t.Out, "%q is not one of the choices.\n", line)
	}
}

func (t *TextOperator) describe(p Prompt) {
	st := p.Step
	fmt.Fprintf(t.Out, "\n== Step %d/%d: %s", p.Index+1, len(p.Procedure.Steps), st.Title)
	if st.Destructive {
		fmt.Fprint(t.Out, " (destructive)")
	}
	if st.Manual {
		fmt.Fprint(t.Out, " (manual)")
	}
	fmt.Fprintln(t.Out)
	if !t.shown[st.ID] && st.Explain != "" {
		t.shown[st.ID] = true
		fmt.Fprintln(t.Out, strings.TrimSpace(st.Explain))
	}
	if len(p.Plan) > 0 {
		fmt.Fprintln(t.Out, "Plan:")
		for _, l := range p.Plan {
			fmt.Fprintln(t.Out, "  "+l)
		}
	}
	if p.Problem != "" {
		fmt.Fprintln(t.Out, "Problem: "+p.Problem)
	}
}

// automatic answers from --yes and --confirm, once per step and never to a
// problem (a blocked check, a failure, a rejected confirmation).
func (t *TextOperator) automatic(p Prompt) (Answer, bool) {
	if p.Problem != "" || !allowed(Proceed, p.Choices) || t.answers[p.Step.ID] > 0 {
		return Answer{}, false
	}
	switch {
	case p.Step.Destructive && t.Confirm != "":
		t.answers[p.Step.ID]++
		return Answer{Decision: Proceed, Typed: t.Confirm}, true
	case !p.Step.Destructive && !p.Step.Manual && t.Yes:
		t.answers[p.Step.ID]++
		return Answer{Decision: Proceed}, true
	}
	return Answer{}, false
}

// ReadLine reads one line of input, giving up when ctx ends (a signal) or
// on EOF.
func (t *TextOperator) ReadLine(ctx context.Context) (string, error) {
	t.init()
	got := make(chan bool, 1)
	go func() { got <- t.lines.Scan() }()
	select {
	case <-ctx.Done():
		return "", context.Cause(ctx)
	case ok := <-got:
		if !ok {
			if err := t.lines.Err(); err != nil {
				return "", err
			}
			return "", errors.New("no answer: input closed")
		}
		return strings.TrimSpace(t.lines.Text()), nil
	}
}

func choiceWords(choices []Decision, typed bool) string {
	var w []string
	for _, c := range choices {
		if typed && c == Proceed {
			continue
		}
		w = append(w, string(c))
	}
	return strings.Join(w, "/")
}

// ParseAnswer maps a typed line to a decision. An empty line aborts (the
// safe default); a destructive step takes the typed word as confirmation.
func ParseAnswer(line string, p Prompt) (Answer, bool) {
	st := p.Step
	lower := strings.ToLower(line)
	for _, c := range p.Choices {
		if lower == string(c) || (len(lower) == 1 && lower[0] == string(c)[0] && !(st.Destructive && c == Proceed)) {
			return Answer{Decision: c}, true
		}
	}
	switch {
	case line == "":
		return Answer{Decision: Abort}, true
	case lower == "y" || lower == "yes":
		if allowed(Proceed, p.Choices) && !st.Destructive {
			return Answer{Decision: Proceed}, true
		}
	case st.Destructive && allowed(Proceed, p.Choices):
		return Answer{Decision: Proceed, Typed: line}, true
	}
	return Answer{}, false
}
