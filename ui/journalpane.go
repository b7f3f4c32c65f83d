package ui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/day2ops/day2/model"
)

// journalLoaded carries the journal's runs, read off the UI goroutine.
type journalLoaded struct {
	runs []model.RunSummary
	err  error
}

// journalPane is [3] Journal: past and unfinished procedure runs.
type journalPane struct {
	table  Table
	runs   []model.RunSummary
	err    string
	loaded bool
}

func newJournalPane() journalPane {
	return journalPane{table: NewTable(
		Column{Title: "STARTED"},
		Column{Title: "PROCEDURE"},
		Column{Title: "TARGET", Flex: true},
		Column{Title: "RESULT"},
		Column{Title: "SESSIONS", Right: true, Priority: 2},
		Column{Title: "BY", Priority: 1},
	)}
}

// loadJournal reads the runs in a command, never in Update.
func loadJournal(read func() ([]model.RunSummary, error)) tea.Cmd {
	return func() tea.Msg {
		runs, err := read()
		return journalLoaded{runs, err}
	}
}

func runResult(r model.RunSummary) (string, Level) {
	switch {
	case r.DryRun:
		return "dry run", LevelDim
	case !r.Finished:
		return "UNFINISHED at " + r.StoppedAt, LevelWarn
	case r.Outcome == model.OutcomeOK:
		return "done", LevelGood
	default:
		return string(r.Outcome), LevelBad
	}
}

func (p *journalPane) set(msg journalLoaded) {
	p.loaded, p.runs, p.err = true, msg.runs, ""
	if msg.err != nil {
		p.err = msg.err.Error()
	}
	rows := make([]Row, 0, len(msg.runs))
	for _, r := range msg.runs {
		result, level := runResult(r)
		rows = append(rows, Row{Key: r.RunID, Level: level, Cells: []string{
			r.Started.Local().Format("01-02 15:04:05"), r.Procedure, r.Target(), result,
			fmt.Sprint(r.Sessions), r.User + "@" + r.Host,
		}})
	}
	p.table.SetRows(rows)
}

// selected is the run under the cursor.
func (p *journalPane) selected() (model.RunSummary, bool) {
	row, ok := p.table.Selected()
	if !ok {
		return model.RunSummary{}, false
	}
	for _, r := range p.runs {
		if r.RunID == row.Key {
			return r, true
		}
	}
	return model.RunSummary{}, false
}

// unfinished lists the runs that can be resumed.
func (p *journalPane) unfinished() []model.RunSummary {
	var out []model.RunSummary
	for _, r := range p.runs {
		if r.Resumable() {
			out = append(out, r)
		}
	}
	return out
}

func (p *journalPane) title() string { return "Journal" }

func (p *journalPane) tbl() *Table { return &p.table }

func (p *journalPane) status(time.Time) (string, Level) {
	switch {
	case p.err != "":
		return "journal: " + p.err, LevelBad
	case !p.loaded:
		return "reading the journal…", LevelDim
	}
	if n := len(p.unfinished()); n > 0 {
		return fmt.Sprintf("%d runs · %d unfinished (R resumes the selected one)", len(p.runs), n), LevelWarn
	}
	return fmt.Sprintf("%d runs", len(p.runs)), LevelNormal
}

func (p *journalPane) view(width, height int, st Styles, _ time.Time) string {
	if !p.loaded {
		return st.Level(LevelDim).Render("Reading the journal…")
	}
	if len(p.runs) == 0 {
		return st.Level(LevelDim).Render("No procedure has run yet.")
	}
	return tableWithDetail(&p.table, nil, p.detail(st), width, height, st)
}

// detail lists the selected run's steps and where its journal is.
func (p *journalPane) detail(st Styles) []string {
	r, ok := p.selected()
	if !ok {
		return nil
	}
	lines := []string{st.Label.Render("run ") + r.RunID + "  " + r.Path}
	var params []string
	for _, k := range sortedKeys(r.Params) {
		params = append(params, k+"="+r.Params[k])
	}
	if len(params) > 0 {
		lines = append(lines, st.Label.Render("params ")+strings.Join(params, " "))
	}
	for _, s := range r.Steps {
		outcome := string(s.Outcome)
		if outcome == "" {
			outcome = "started, not ended"
		}
		line := fmt.Sprintf("  %-12s %s", s.ID, outcome)
		if s.Error != "" {
			line += ": " + s.Error
		}
		lines = append(lines, line)
	}
	lines = append(lines, st.StatusBar.Render(fmt.Sprintf("last record %s", r.Last.Local().Format(time.DateTime))))
	return lines
}

// sortedKeys are a map's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
