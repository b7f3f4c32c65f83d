package ui

import (
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

func testTable() Table {
	t := NewTable(
		Column{Title: "NAME", Flex: true},
		Column{Title: "STATUS"},
		Column{Title: "EXTRA", Priority: 2},
		Column{Title: "MORE", Priority: 1, Right: true},
	)
	var rows []Row
	for _, n := range []string{"alpha", "bravo", "charlie", "delta", "echo"} {
		rows = append(rows, Row{Key: n, Cells: []string{n + "-node.example.com", "Ready", "xxxxxxxxxx", "42"}})
	}
	t.SetRows(rows)
	return t
}

func TestTableDropsColumnsByPriority(t *testing.T) {
	tb := testTable()
	st := DefaultStyles()
	wide := ansi.Strip(tb.View(80, 10, st))
	if !strings.Contains(wide, "EXTRA") || !strings.Contains(wide, "MORE") {
		t.Fatalf("wide table lost columns:\n%s", wide)
	}
	// 25+1+6+1+4 = 37: EXTRA (priority 2) goes first, MORE stays.
	narrow := ansi.Strip(tb.View(37, 10, st))
	if strings.Contains(narrow, "EXTRA") || !strings.Contains(narrow, "MORE") {
		t.Fatalf("narrow table should drop EXTRA only:\n%s", narrow)
	}
	// Too narrow even for the essential columns: the flex column is cut.
	tiny := ansi.Strip(tb.View(20, 10, st))
	if !strings.Contains(tiny, "…") || !strings.Contains(tiny, "Ready") {
		t.Fatalf("tiny table should cut NAME and keep STATUS:\n%s", tiny)
	}
	for _, view := range []string{wide, narrow, tiny} {
		for _, l := range strings.Split(view, "\n") {
			if w := lipgloss.Width(l); w > 80 {
				t.Errorf("line wider than the terminal (%d): %q", w, l)
			}
		}
	}
}

func TestTableRendersOnlyVisibleRowsAndFollowsCursor(t *testing.T) {
	tb := testTable()
	st := DefaultStyles()
	view := ansi.Strip(tb.View(80, 3, st)) // header + 2 rows
	if strings.Count(view, "\n") != 2 || !strings.Contains(view, "alpha") || strings.Contains(view, "charlie") {
		t.Fatalf("want header and the first two rows:\n%s", view)
	}
	tb.Bottom()
	view = ansi.Strip(tb.View(80, 3, st))
	if !strings.Contains(view, "echo") || strings.Contains(view, "alpha") {
		t.Fatalf("cursor at the bottom must scroll:\n%s", view)
	}
	tb.Move(-100)
	if r, _ := tb.Selected(); r.Key != "alpha" {
		t.Fatalf("Move clamps at the top, got %q", r.Key)
	}
}

func TestTableKeepsSelectionAcrossSnapshots(t *testing.T) {
	tb := testTable()
	tb.Move(2) // charlie
	rows := []Row{{Key: "zulu"}, {Key: "charlie"}, {Key: "alpha"}}
	tb.SetRows(rows)
	if r, _ := tb.Selected(); r.Key != "charlie" {
		t.Fatalf("selection moved to %q", r.Key)
	}
	tb.SetRows(rows[:1])
	if r, ok := tb.Selected(); !ok || r.Key != "zulu" {
		t.Fatalf("a vanished selection must clamp into range, got %q %v", r.Key, ok)
	}
}

func TestTableFilter(t *testing.T) {
	tb := testTable()
	tb.SetFilter("CHAR")
	if tb.Len() != 1 || tb.Total() != 5 {
		t.Fatalf("filter CHAR: %d of %d rows", tb.Len(), tb.Total())
	}
	if r, _ := tb.Selected(); r.Key != "charlie" {
		t.Fatalf("selected %q", r.Key)
	}
	// A new snapshot keeps the filter.
	tb.SetRows([]Row{{Key: "charlie", Cells: []string{"charlie"}}, {Key: "delta", Cells: []string{"delta"}}})
	if tb.Len() != 1 {
		t.Fatalf("filter lost on SetRows: %d rows", tb.Len())
	}
	tb.SetFilter("")
	if tb.Len() != 2 {
		t.Fatalf("empty filter shows all: %d", tb.Len())
	}
}

func TestTableSortKeepsSelectionAndFilter(t *testing.T) {
	tb := NewTable(Column{Title: "NAME"}, Column{Title: "AGE"}, Column{Title: "PODS"})
	tb.SetRows([]Row{
		{Key: "a", Cells: []string{"a", "2d", "9"}, Sort: []string{"", "172800", ""}},
		{Key: "b", Cells: []string{"b", "5m", "10"}, Sort: []string{"", "300", ""}},
		{Key: "c", Cells: []string{"c", "3h", "100"}, Sort: []string{"", "10800", ""}},
	})
	order := func() string {
		var keys []string
		for i := range tb.Len() {
			keys = append(keys, tb.rows[i].Key)
		}
		return strings.Join(keys, "")
	}
	tb.Bottom() // select c
	tb.CycleSort()
	tb.CycleSort() // AGE ascending: by the sort keys, not "2d" < "3h" < "5m"
	if got := order(); got != "bca" {
		t.Errorf("by age = %s, want bca", got)
	}
	if r, _ := tb.Selected(); r.Key != "c" {
		t.Errorf("selection moved to %s", r.Key)
	}
	tb.CycleSort() // PODS: numbers compare as numbers
	if got := order(); got != "abc" {
		t.Errorf("by pods = %s, want abc", got)
	}
	tb.ReverseSort()
	if got := order(); got != "cba" {
		t.Errorf("by pods reversed = %s, want cba", got)
	}
	if title, desc := tb.SortedBy(); title != "PODS" || !desc {
		t.Errorf("sorted by %s desc=%v", title, desc)
	}
	if view := ansi.Strip(tb.View(40, 5, DefaultStyles())); !strings.Contains(view, "PODS↓") {
		t.Errorf("header lacks the sort arrow:\n%s", view)
	}
	tb.SetFilter("a")
	if got := order(); got != "a" {
		t.Errorf("filtered = %s", got)
	}
	tb.SetFilter("")
	tb.CycleSort() // past the last column: the snapshot's order again
	if got := order(); got != "abc" {
		t.Errorf("unsorted = %s", got)
	}
}
