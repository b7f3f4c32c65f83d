// Package journal is day2's audit journal: one append-only JSON-lines file
// per procedure run, each record fsync'd before the step it announces runs,
// so a run killed at any moment leaves a journal that says where it stopped.
package journal

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/day2ops/day2/internal/statedir"
	"github.com/day2ops/day2/model"
)

// DefaultDir is ${XDG_STATE_HOME:-$HOME/.local/state}/day2/journal.
func DefaultDir() string { return filepath.Join(statedir.Dir(), "journal") }

// Journal is a directory of run files.
type Journal struct{ dir string }

// Open makes sure dir exists (0700: journals name hosts and nodes).
func Open(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal dir %s: %w", dir, err)
	}
	return &Journal{dir: dir}, nil
}

// Dir is the journal directory.
func (j *Journal) Dir() string { return j.dir }

// Run is one run's journal file, open for appending.
type Run struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// NewRunID is a short random identifier.
func NewRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Create starts a new run file named after its start time, procedure and ID.
func (j *Journal) Create(runID, procedure string, now time.Time) (*Run, error) {
	name := fmt.Sprintf("%s-%s-%s.jsonl", now.UTC().Format("20060102T150405Z"), procedure, runID)
	return openRun(filepath.Join(j.dir, name), os.O_CREATE|os.O_EXCL)
}

// Reopen appends to an existing run's file (resume).
func (j *Journal) Reopen(path string) (*Run, error) { return openRun(path, 0) }

func openRun(path string, flags int) (*Run, error) {
	f, err := os.OpenFile(path, flags|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return &Run{f: f, path: path}, nil
}

// Path is the run file.
func (r *Run) Path() string { return r.path }

// Append writes one record and fsyncs it: when Append returns, the record
// survives a crash.
func (r *Run) Append(rec model.JournalRecord) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("journal record: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write journal %s: %w", r.path, err)
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("fsync journal %s: %w", r.path, err)
	}
	return nil
}

// Close closes the file.
func (r *Run) Close() error { return r.f.Close() }

// ReadRun reads a run file. A final line cut short by a crash mid-write is
// ignored (every complete record before it stands); a damaged line anywhere
// else is an error.
func ReadRun(path string) ([]model.JournalRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", path, err)
	}
	var recs []model.JournalRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec model.JournalRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			if !bytes.HasSuffix(data, []byte("\n")) && bytes.HasSuffix(bytes.TrimSpace(data), line) {
				break // torn last write
			}
			return nil, fmt.Errorf("journal %s line %d: %w", path, n, err)
		}
		recs = append(recs, rec)
	}
	return recs, sc.Err()
}

// Runs summarises every run in the journal, newest first. Unreadable files
// are returned as errors alongside the runs that could be read.
func (j *Journal) Runs() ([]model.RunSummary, error) {
	paths, err := filepath.Glob(filepath.Join(j.dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	var runs []model.RunSummary
	var errs []error
	for _, p := range paths {
		recs, err := ReadRun(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(recs) == 0 {
			continue
		}
		s := model.SummarizeRun(recs)
		s.Path = p
		runs = append(runs, s)
	}
	sort.Slice(runs, func(a, b int) bool { return runs[a].Started.After(runs[b].Started) })
	return runs, errors.Join(errs...)
}

// Unfinished lists the runs that can be resumed, newest first, optionally
// only those of one procedure.
func (j *Journal) Unfinished(procedure string) ([]model.RunSummary, error) {
	runs, err := j.Runs()
	var out []model.RunSummary
	for _, r := range runs {
		if r.Resumable() && (procedure == "" || strings.EqualFold(r.Procedure, procedure)) {
			out = append(out, r)
		}
	}
	return out, err
}
