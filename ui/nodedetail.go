package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/day2ops/day2/model"
)

// nodeDetail is the Nodes pane's detail view of one node (enter opens it,
// esc goes back): a scrollable page read on demand.
type nodeDetail struct {
	name   string
	data   *model.NodeDetail // nil while loading
	err    string
	offset int
	// lines is the page, rebuilt when data arrives or the clock ticks.
	lines []string
}

type nodeDetailLoaded struct {
	name   string
	detail model.NodeDetail
	err    error
}

func loadNodeDetail(ctx context.Context, name string, read func(context.Context, string) (model.NodeDetail, error)) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		d, err := read(ctx, name)
		return nodeDetailLoaded{name: name, detail: d, err: err}
	}
}

func (d *nodeDetail) set(msg nodeDetailLoaded, st Styles, now time.Time) {
	if msg.err != nil {
		d.err = msg.err.Error()
	} else {
		d.data, d.err = &msg.detail, ""
	}
	d.build(st, now)
}

func (d *nodeDetail) scroll(delta, height int) {
	d.offset = max(0, min(d.offset+delta, len(d.lines)-height))
}

func (d *nodeDetail) view(width, height int, st Styles, now time.Time) string {
	if d.lines == nil {
		d.build(st, now)
	}
	d.offset = max(0, min(d.offset, len(d.lines)-height))
	end := min(d.offset+height, len(d.lines))
	return wrapLines(d.lines[d.offset:end], width)
}

func (d *nodeDetail) status() (string, Level) {
	if d.err != "" {
		return "node " + d.name + ": " + d.err, LevelBad
	}
	return fmt.Sprintf("node %s · j/k scroll · r reload · esc back", d.name), LevelNormal
}

// build lays the page out: the facts an operator checks before touching a
// node, then its pods with what a drain would do to them, then its events.
func (d *nodeDetail) build(st Styles, now time.Time) {
	head := func(s string) string { return st.HelpTitle.Render(s) }
	lbl := func(s string) string { return st.Label.Render(s) }
	if d.data == nil {
		msg := "loading node " + d.name + "…"
		if d.err != "" {
			msg = "node " + d.name + ": " + d.err
		}
		d.lines = []string{msg}
		return
	}
	n := d.data
	lines := []string{
		fmt.Sprintf("%s %s  %s  %s %s  %s %s  %s %s", lbl("node"), n.Name, n.Status(), lbl("roles"), n.RoleList(),
			lbl("age"), model.HumanAge(now.Sub(n.Created)), lbl("kubelet"), n.KubeletVersion),
	}
	if n.Err != "" {
		lines = append(lines, st.Level(LevelWarn).Render("partly read: "+n.Err))
	}
	lines = append(lines, "", head("Conditions"))
	for _, c := range n.Conditions {
		text := fmt.Sprintf("  %-20s %-7s %-28s %s ago", c.Type, c.Status, c.Reason, model.HumanAge(now.Sub(c.Since)))
		if !c.Bad() {
			lines = append(lines, text)
			continue
		}
		lines = append(lines, st.Level(LevelBad).Render(text))
		if c.Message != "" {
			lines = append(lines, st.Level(LevelBad).Render("    "+c.Message))
		}
	}
	taints := "none"
	if len(n.Taints) > 0 {
		var ts []string
		for _, t := range n.Taints {
			ts = append(ts, t.String())
		}
		taints = strings.Join(ts, ", ")
	}
	lines = append(lines, "", lbl("taints      ")+taints)
	lines = append(lines, resourceLines(n, lbl)...)
	lines = append(lines, lbl("addresses   ")+strings.Join(n.Addresses, ", "), lbl("system      ")+strings.Join(n.System, " · "))
	lines = append(lines, "", head("Labels"))
	lines = append(lines, keyValues(n.Labels)...)
	if len(n.Annotations) > 0 {
		lines = append(lines, "", head("Annotations"))
		lines = append(lines, keyValues(n.Annotations)...)
	}
	lines = append(lines, "", head(fmt.Sprintf("Pods (%d)", len(n.Pods))))
	rows := [][]string{{"NAMESPACE", "NAME", "OWNER", "PHASE", "RESTARTS", "AGE", "MARKS"}}
	for _, p := range n.Pods {
		owner := p.OwnerKind
		if owner == "" {
			owner = "none (bare)"
		}
		rows = append(rows, []string{p.Namespace, p.Name, owner, p.Phase, fmt.Sprint(p.Restarts), model.HumanAge(now.Sub(p.Created)), podMarks(p)})
	}
	lines = append(lines, aligned(rows, "  ")...)
	lines = append(lines, "", head(fmt.Sprintf("Events (%d, newest first)", len(n.Events))))
	if len(n.Events) == 0 {
		lines = append(lines, "  none recorded")
	}
	for _, e := range n.Events {
		text := fmt.Sprintf("  %6s  %-7s  %-22s  %s", model.HumanAge(now.Sub(e.Last)), e.Type, e.Reason, e.Message)
		if e.Count > 1 {
			text += fmt.Sprintf(" (x%d)", e.Count)
		}
		level := LevelNormal
		if e.Type == "Warning" {
			level = LevelWarn
		}
		lines = append(lines, st.Level(level).Render(text))
	}
	d.lines = lines
}

// podMarks says what a drain would run into: emptyDir data lost, a PDB
// that may block, a bare pod that will not come back, a DaemonSet or
// static pod that stays.
func podMarks(p model.NodePod) string {
	var marks []string
	if p.LocalStorage {
		marks = append(marks, "local-storage")
	}
	if p.PDB != "" {
		marks = append(marks, "pdb:"+p.PDB)
	}
	switch p.OwnerKind {
	case "":
		marks = append(marks, "bare")
	case "DaemonSet":
		marks = append(marks, "daemonset")
	case "Node":
		marks = append(marks, "static")
	}
	return strings.Join(marks, " ")
}

func resourceLines(n *model.NodeDetail, lbl func(string) string) []string {
	rows := [][]string{{"", "cpu", "memory", "pods"}}
	for _, r := range []struct {
		name string
		l    map[string]string
	}{{"capacity", n.Capacity}, {"allocatable", n.Allocatable}, {"requested", n.Requested}} {
		rows = append(rows, []string{r.name, r.l["cpu"], r.l["memory"], r.l["pods"]})
	}
	rows[3][3] = fmt.Sprint(len(n.Pods))
	out := aligned(rows, "  ")
	out[0] = lbl("resources") + out[0][len("resources"):]
	return out
}

// keyValues lists a map as sorted "  key=value" lines.
func keyValues(m map[string]string) []string {
	keys := sortedKeys(m)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = "  " + k + "=" + m[k]
	}
	return out
}

// aligned pads columns to their widest cell; the first row is a header.
func aligned(rows [][]string, indent string) []string {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	out := make([]string, len(rows))
	for k, r := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(padRight(c, widths[i]+2))
			}
		}
		out[k] = strings.TrimRight(b.String(), " ")
	}
	return out
}
