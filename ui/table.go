package ui

import (
	"sort"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Column describes one table column.
type Column struct {
	Title string
	// Priority decides which columns go first when the terminal is narrow:
	// 0 is never dropped, higher numbers are dropped before lower ones.
	Priority int
	// Flex marks the column that is truncated (with …) when even the
	// essential columns do not fit.
	Flex  bool
	Right bool
	// Width is the least width, so columns whose values vary (a health
	// that turns "unreachable") do not make the layout jump.
	Width int
	// Max caps the width of a column of long free text (cells are cut
	// with …), so it does not push the other columns out.
	Max int
}

// Row is one table row: its cells, a level for colouring, and a key that
// keeps the selection on the same item across snapshots.
type Row struct {
	Key   string
	Cells []string
	// Sort, when set, holds per-column sort keys for cells whose text does
	// not sort (ages, sizes): numbers compare as numbers, the rest as text.
	Sort  []string
	Level Level
}

// sortKey is the value row r sorts by in column i.
func (r Row) sortKey(i int) string {
	if i < len(r.Sort) && r.Sort[i] != "" {
		return r.Sort[i]
	}
	if i < len(r.Cells) {
		return r.Cells[i]
	}
	return ""
}

// lessKey orders numbers numerically (a trailing % or unit-less), text
// case-insensitively, numbers before text.
func lessKey(a, b string) bool {
	fa, ea := strconv.ParseFloat(strings.TrimSuffix(a, "%"), 64)
	fb, eb := strconv.ParseFloat(strings.TrimSuffix(b, "%"), 64)
	switch {
	case ea == nil && eb == nil:
		return fa < fb
	case ea == nil:
		return true
	case eb == nil:
		return false
	}
	return strings.ToLower(a) < strings.ToLower(b)
}

// Table is a scrolling, selectable table that renders only the rows that are
// visible, so its cost per frame does not grow with the cluster.
type Table struct {
	cols    []Column
	all     []Row  // every row of the snapshot
	filter  string // lower-case substring a row must contain to show
	rows    []Row  // the rows shown: all, or those matching the filter
	natural []int  // widest cell per column, measured once per SetRows
	// blank marks columns with no value in any shown row (an ALARMS column
	// on a quiet cluster); droppable ones are left out.
	blank  []bool
	cursor int
	offset int
	// sortCol is the column rows are ordered by (-1: the snapshot's order).
	sortCol  int
	sortDesc bool
}

// NewTable makes a table with the given columns.
func NewTable(cols ...Column) Table {
	t := Table{cols: cols, natural: make([]int, len(cols)), blank: make([]bool, len(cols)), sortCol: -1}
	t.measure()
	return t
}

// SetRows replaces the rows, keeping the selection on the row with the same
// key when it is still there.
func (t *Table) SetRows(rows []Row) {
	key := ""
	if r, ok := t.Selected(); ok {
		key = r.Key
	}
	t.all = rows
	t.applyFilter()
	t.keep(key)
}

// keep puts the cursor back on the row with key, or clamps it.
func (t *Table) keep(key string) {
	if key != "" {
		for i, r := range t.rows {
			if r.Key == key {
				t.cursor = i
				return
			}
		}
	}
	t.cursor = min(t.cursor, max(len(t.rows)-1, 0))
}

// Select puts the cursor on the row with key, if it is shown.
func (t *Table) Select(key string) { t.keep(key) }

// CycleSort orders the rows by the next column (after the last: back to
// the snapshot's order); ReverseSort flips the direction. The selection
// stays on its row.
func (t *Table) CycleSort() {
	t.sortCol++
	if t.sortCol >= len(t.cols) {
		t.sortCol = -1
	}
	t.resort()
}

// ReverseSort flips the sort direction.
func (t *Table) ReverseSort() {
	t.sortDesc = !t.sortDesc
	t.resort()
}

// SortedBy names the sort column and direction ("" when unsorted).
func (t *Table) SortedBy() (title string, desc bool) {
	if t.sortCol < 0 {
		return "", false
	}
	return t.cols[t.sortCol].Title, t.sortDesc
}

func (t *Table) resort() {
	key := ""
	if r, ok := t.Selected(); ok {
		key = r.Key
	}
	t.applyFilter()
	t.keep(key)
}

// SetFilter shows only the rows whose cells contain q (case-insensitive);
// an empty q shows all.
func (t *Table) SetFilter(q string) {
	t.filter = strings.ToLower(q)
	t.applyFilter()
	t.cursor, t.offset = 0, 0
}

// Filter is the current filter text.
func (t *Table) Filter() string { return t.filter }

// Total is the number of rows before filtering.
func (t *Table) Total() int { return len(t.all) }

func (t *Table) applyFilter() {
	if t.filter == "" && t.sortCol < 0 {
		t.rows = t.all
	} else if t.filter == "" {
		t.rows = append(t.rows[:0:0], t.all...)
	} else {
		t.rows = t.rows[:0:0]
		for _, r := range t.all {
			if strings.Contains(strings.ToLower(strings.Join(r.Cells, " ")), t.filter) {
				t.rows = append(t.rows, r)
			}
		}
	}
	if c := t.sortCol; c >= 0 {
		sort.SliceStable(t.rows, func(i, j int) bool {
			if t.sortDesc {
				return lessKey(t.rows[j].sortKey(c), t.rows[i].sortKey(c))
			}
			return lessKey(t.rows[i].sortKey(c), t.rows[j].sortKey(c))
		})
	}
	t.measure()
}

func (t *Table) measure() {
	for i := range t.cols {
		t.natural[i] = max(t.cols[i].Width, lipgloss.Width(t.title(i)))
		t.blank[i] = true
	}
	for _, r := range t.rows {
		for i, cell := range r.Cells {
			if i < len(t.natural) {
				t.natural[i] = max(t.natural[i], cellWidth(cell))
				if m := t.cols[i].Max; m > 0 {
					t.natural[i] = min(t.natural[i], m)
				}
				t.blank[i] = t.blank[i] && cell == ""
			}
		}
	}
}

// cellWidth is the cell's width in terminal cells; plain ASCII (nearly
// every cell) is measured without the ANSI-aware parser.
func cellWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return lipgloss.Width(s)
		}
	}
	return len(s)
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Selected is the row under the cursor.
func (t *Table) Selected() (Row, bool) {
	if t.cursor < 0 || t.cursor >= len(t.rows) {
		return Row{}, false
	}
	return t.rows[t.cursor], true
}

// Move moves the cursor by delta rows, clamped.
func (t *Table) Move(delta int) {
	t.cursor = max(0, min(len(t.rows)-1, t.cursor+delta))
}

// Top and Bottom jump to the first and last row.
func (t *Table) Top()    { t.cursor = 0 }
func (t *Table) Bottom() { t.cursor = max(len(t.rows)-1, 0) }

// layout picks the columns and widths for a terminal width: gaps of two
// spaces, then one, and only then columns dropped by priority; if the
// essential columns still do not fit, the flex column is cut.
func (t *Table) layout(width int) (visible []int, widths []int, gap int) {
	for i, c := range t.cols {
		if c.Priority == 0 || !t.blank[i] || len(t.rows) == 0 {
			visible = append(visible, i)
		}
	}
	total := func(g int) int {
		sum := 0
		for _, i := range visible {
			sum += t.natural[i]
		}
		return sum + g*(len(visible)-1)
	}
	for {
		for _, g := range []int{2, 1} {
			if total(g) <= width {
				return visible, t.widths(visible), g
			}
		}
		drop, worst := -1, 0
		for k, i := range visible {
			if p := t.cols[i].Priority; p > worst {
				drop, worst = k, p
			}
		}
		if drop < 0 {
			break
		}
		visible = append(visible[:drop], visible[drop+1:]...)
	}
	widths = t.widths(visible)
	over := total(1) - width
	for k, i := range visible {
		if t.cols[i].Flex {
			widths[k] = max(widths[k]-over, 1)
			break
		}
	}
	return visible, widths, 1
}

func (t *Table) widths(visible []int) []int {
	w := make([]int, len(visible))
	for k, i := range visible {
		w[k] = t.natural[i]
	}
	return w
}

// View renders the header and as many rows as fit in height lines.
func (t *Table) View(width, height int, st Styles) string {
	if height < 1 || width < 1 {
		return ""
	}
	visible, widths, gap := t.layout(width)
	cells := make([]string, len(visible))
	for k, i := range visible {
		cells[k] = t.title(i)
	}
	lines := []string{st.TableHeader.Render(t.line(cells, visible, widths, gap))}
	body := height - 1
	if body > 0 {
		// Keep the cursor in view.
		if t.cursor < t.offset {
			t.offset = t.cursor
		}
		if t.cursor >= t.offset+body {
			t.offset = t.cursor - body + 1
		}
		t.offset = max(0, min(t.offset, len(t.rows)-body))
		for r := t.offset; r < len(t.rows) && r < t.offset+body; r++ {
			row := t.rows[r]
			for k, i := range visible {
				cells[k] = ""
				if i < len(row.Cells) {
					cells[k] = row.Cells[i]
				}
			}
			text := t.line(cells, visible, widths, gap)
			style := st.Level(row.Level)
			if r == t.cursor {
				style = style.Inherit(st.Selected)
				text = padRight(text, width)
			}
			lines = append(lines, style.Render(text))
		}
	}
	return strings.Join(lines, "\n")
}

// selectedItem is the item behind the table's selected row: the one whose
// key is the row's key.
func selectedItem[T any](t *Table, items []T, key func(T) string) (T, bool) {
	var zero T
	row, ok := t.Selected()
	if !ok {
		return zero, false
	}
	for _, it := range items {
		if key(it) == row.Key {
			return it, true
		}
	}
	return zero, false
}

// tableWithDetail lays out a pane: top lines, the table (as many rows as
// fit, at least its header and one row), and the selected row's detail
// below a blank line when there is room for all of it.
func tableWithDetail(t *Table, top, detail []string, width, height int, st Styles) string {
	tableHeight := max(min(height-len(top)-len(detail)-1, t.Len()+1), 2)
	var out []string
	if len(top) > 0 {
		out = append(out, wrapLines(top, width))
	}
	out = append(out, t.View(width, tableHeight, st))
	if height-len(top)-tableHeight > len(detail) {
		out = append(out, "", wrapLines(detail, width))
	}
	return strings.Join(out, "\n")
}

// title is column i's header, with an arrow on the sort column.
func (t *Table) title(i int) string {
	switch {
	case i != t.sortCol:
		return t.cols[i].Title
	case t.sortDesc:
		return t.cols[i].Title + "↓"
	default:
		return t.cols[i].Title + "↑"
	}
}

func (t *Table) line(cells []string, visible, widths []int, gap int) string {
	var b strings.Builder
	for k, i := range visible {
		if k > 0 {
			b.WriteString(strings.Repeat(" ", gap))
		}
		cell := ansi.Truncate(cells[k], widths[k], "…")
		if t.cols[i].Right {
			b.WriteString(padLeft(cell, widths[k]))
		} else if k < len(visible)-1 {
			b.WriteString(padRight(cell, widths[k]))
		} else {
			b.WriteString(cell)
		}
	}
	return b.String()
}

func padRight(s string, w int) string {
	if n := w - lipgloss.Width(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

func padLeft(s string, w int) string {
	if n := w - lipgloss.Width(s); n > 0 {
		return strings.Repeat(" ", n) + s
	}
	return s
}
