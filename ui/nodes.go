package ui

import (
	"fmt"
	"strconv"
	"time"

	"github.com/day2ops/day2/model"
)

// nodesPane is [1] Nodes: the cluster's nodes, live from the informers.
type nodesPane struct {
	table Table
	snap  model.Nodes
	// detail is the open detail view (enter), nil when the table shows.
	detail *nodeDetail
}

func newNodesPane() nodesPane {
	return nodesPane{table: NewTable(
		Column{Title: "NAME", Flex: true},
		Column{Title: "STATUS"},
		Column{Title: "ROLES", Priority: 3},
		Column{Title: "AGE", Priority: 4, Width: 5},
		Column{Title: "VERSION", Priority: 7},
		Column{Title: "PODS", Right: true, Priority: 1},
		Column{Title: "CPU", Right: true, Priority: 2, Width: 4},
		Column{Title: "MEM", Right: true, Priority: 2, Width: 4},
		Column{Title: "PRESSURE", Priority: 5},
		Column{Title: "TAINTS", Right: true, Priority: 8},
		Column{Title: "INTERNAL-IP", Priority: 6},
	)}
}

func (p *nodesPane) set(n model.Nodes, now time.Time) {
	p.snap = n
	p.refresh(now)
}

// refresh rebuilds the rows (ages move with the clock).
func (p *nodesPane) refresh(now time.Time) {
	rows := make([]Row, 0, len(p.snap.Items))
	for _, n := range p.snap.Items {
		pods, cpu, mem := "?", "?", "?"
		if p.snap.PodsSynced {
			pods, cpu, mem = strconv.Itoa(n.Pods), model.Percent(n.CPUPct), model.Percent(n.MemPct)
		}
		level := LevelNormal
		switch {
		case n.Readiness != model.NodeReady || len(n.Pressure) > 0:
			level = LevelBad
		case n.Unschedulable && !hasRole(n, "master"):
			// A cordoned worker is worth noticing; masters are unschedulable by design.
			level = LevelWarn
		}
		age := now.Sub(n.Created)
		rows = append(rows, Row{Key: n.Name, Level: level, Cells: []string{
			n.Name, n.Status(), n.RoleList(), model.HumanAge(age), n.KubeletVersion, pods, cpu, mem,
			n.PressureList(), strconv.Itoa(n.Taints), n.InternalIP,
		}, Sort: []string{3: strconv.FormatInt(int64(age.Seconds()), 10)}})
	}
	p.table.SetRows(rows)
}

func hasRole(n model.Node, role string) bool {
	for _, r := range n.Roles {
		if r == role {
			return true
		}
	}
	return false
}

func (p *nodesPane) title() string { return "Nodes" }

func (p *nodesPane) tbl() *Table { return &p.table }

// status is the pane's line in the status bar.
func (p *nodesPane) status(time.Time) (string, Level) {
	if p.snap.Err != "" {
		return p.snap.Err, LevelBad
	}
	if !p.snap.Synced {
		return "loading nodes…", LevelDim
	}
	total, ready := p.snap.Counts()
	level := LevelNormal
	if ready < total {
		level = LevelWarn
	}
	return fmt.Sprintf("%d nodes · %d Ready", total, ready), level
}

func (p *nodesPane) view(width, height int, st Styles, now time.Time) string {
	if p.detail != nil {
		return p.detail.view(width, height, st, now)
	}
	if !p.snap.Synced && len(p.snap.Items) == 0 {
		msg := "Waiting for the node list from the API server…"
		if p.snap.Err != "" {
			msg = "Cannot list nodes: " + p.snap.Err
			return st.Level(LevelBad).Render(truncate(msg, width))
		}
		return st.Level(LevelDim).Render(msg)
	}
	return p.table.View(width, height, st)
}
