package model

import (
	"testing"
	"time"
)

func TestSummarizeRunInterruptedMidStep(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	recs := []JournalRecord{
		{Time: t0, RunID: "r1", Session: 1, Procedure: "drain", Params: map[string]string{"node": "n1"}, Event: EventRunStart},
		{Time: t0, Session: 1, Event: EventStepStart, Step: "preflight"},
		{Time: t0, Session: 1, Event: EventStepEnd, Step: "preflight", Outcome: OutcomeOK},
		{Time: t0, Session: 1, Event: EventStepStart, Step: "cordon"},
		{Time: t0, Session: 1, Event: EventStepEnd, Step: "cordon", Outcome: OutcomeOK},
		{Time: t0.Add(time.Minute), Session: 1, Event: EventStepStart, Step: "drain"},
		// killed here: no step-end, no run-end
	}
	s := SummarizeRun(recs)
	if s.RunID != "r1" || s.Procedure != "drain" || s.Params["node"] != "n1" || s.Sessions != 1 {
		t.Fatalf("identity wrong: %+v", s)
	}
	if !s.Resumable() || s.Finished || s.StoppedAt != "drain" {
		t.Fatalf("want resumable, stopped at drain: %+v", s)
	}
	if st, _ := s.Step("cordon"); !st.Done() {
		t.Errorf("cordon should be done: %+v", st)
	}
	if st, _ := s.Step("drain"); st.Done() || !st.Started || st.Outcome != "" {
		t.Errorf("drain started and unfinished: %+v", st)
	}

	// A second session verifies drain and finishes.
	recs = append(recs,
		JournalRecord{Time: t0.Add(time.Hour), Session: 2, Event: EventResumed},
		JournalRecord{Time: t0.Add(time.Hour), Session: 2, Event: EventStepEnd, Step: "drain", Outcome: OutcomeVerified},
		JournalRecord{Time: t0.Add(time.Hour), Session: 2, Event: EventRunEnd, Outcome: OutcomeOK},
	)
	s = SummarizeRun(recs)
	if s.Resumable() || s.Outcome != OutcomeOK || s.Sessions != 2 {
		t.Fatalf("want finished ok over 2 sessions: %+v", s)
	}
	if st, _ := s.Step("drain"); !st.Done() {
		t.Errorf("verified step counts as done: %+v", st)
	}
}

func TestSummarizeInterruptedAndDryRun(t *testing.T) {
	s := SummarizeRun([]JournalRecord{
		{RunID: "r2", Event: EventRunStart, Session: 1},
		{Event: EventStepStart, Step: "drain", Session: 1},
		{Event: EventInterrupted, Step: "drain", Error: "SIGHUP", Session: 1},
	})
	if st, _ := s.Step("drain"); st.Outcome != OutcomeInterrupted || st.Done() || !s.Resumable() {
		t.Errorf("interrupted step: %+v", s)
	}
	if (RunSummary{DryRun: true}).Resumable() {
		t.Error("a dry run is never resumed")
	}
}

func TestRedactParams(t *testing.T) {
	got := RedactParams(map[string]string{"node": "n1", "registry-password": "hunter2", "Token": "x", "confirm": "n1"})
	if got["node"] != "n1" || got["confirm"] != "n1" || got["registry-password"] != "<redacted>" || got["Token"] != "<redacted>" {
		t.Errorf("RedactParams = %v", got)
	}
}

func TestRunTarget(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"node": "node-1", "timeout": "5m"}, "node-1"},
		{map[string]string{"member": "a1b2c3", "allow-two-members": "false"}, "a1b2c3"},
		{map[string]string{"name": "master-3", "peer-url": "https://10.0.0.4:2380"}, "master-3"},
		{map[string]string{"backup-dir": "/backup/etcd"}, ""},
	} {
		if got := (RunSummary{Params: c.params}).Target(); got != c.want {
			t.Errorf("%v: target %q, want %q", c.params, got, c.want)
		}
	}
}
