package journal

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/model"
)

func TestAppendReadAndUnfinished(t *testing.T) {
	j, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	write := func(id, proc string, at time.Time, recs ...model.JournalRecord) string {
		r, err := j.Create(id, proc, at)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for _, rec := range recs {
			rec.RunID, rec.Procedure, rec.Time = id, proc, at
			if err := r.Append(rec); err != nil {
				t.Fatal(err)
			}
		}
		return r.Path()
	}
	done := write("a1", "drain", now,
		model.JournalRecord{Event: model.EventRunStart, Session: 1},
		model.JournalRecord{Event: model.EventRunEnd, Outcome: model.OutcomeOK, Session: 1})
	open := write("b2", "drain", now.Add(time.Hour),
		model.JournalRecord{Event: model.EventRunStart, Session: 1},
		model.JournalRecord{Event: model.EventStepStart, Step: "cordon", Session: 1})
	write("c3", "uncordon", now.Add(2*time.Hour), model.JournalRecord{Event: model.EventRunStart, Session: 1})

	if fi, err := os.Stat(open); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal file mode: %v %v", fi, err)
	}
	runs, err := j.Runs()
	if err != nil || len(runs) != 3 || runs[0].RunID != "c3" || runs[2].Path != done {
		t.Fatalf("Runs newest first: %+v %v", runs, err)
	}
	un, err := j.Unfinished("drain")
	if err != nil || len(un) != 1 || un[0].RunID != "b2" || un[0].StoppedAt != "cordon" {
		t.Fatalf("Unfinished(drain) = %+v %v", un, err)
	}

	// Resume appends to the same file.
	r, err := j.Reopen(open)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Append(model.JournalRecord{RunID: "b2", Event: model.EventRunEnd, Outcome: model.OutcomeOK, Session: 2}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if un, _ := j.Unfinished(""); len(un) != 1 || un[0].RunID != "c3" {
		t.Fatalf("after finishing b2, only c3 is unfinished: %+v", un)
	}
}

func TestReadRunToleratesTornLastLine(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/x.jsonl"
	good := `{"run":"r","event":"run-start","session":1}` + "\n" + `{"run":"r","event":"step-start","step":"drain","session":1}` + "\n"
	if err := os.WriteFile(p, []byte(good+`{"run":"r","event":"step-e`), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadRun(p)
	if err != nil || len(recs) != 2 {
		t.Fatalf("torn tail: %d records, %v", len(recs), err)
	}
	if err := os.WriteFile(p, []byte(`{"run":"r"}`+"\nnot json\n"+good), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRun(p); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("damage mid-file must be an error naming the line, got %v", err)
	}
}
