package ui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/day2ops/day2/model"
)

// targetFrame is issue 3's bound for one frame of a 5,000-row table.
const targetFrame = 5 * time.Millisecond

func bigSnapshot(n int) model.Nodes {
	snap := model.Nodes{Synced: true, PodsSynced: true}
	for i := range n {
		snap.Items = append(snap.Items, model.Node{
			Name: fmt.Sprintf("node-%04d.example.com", i), Readiness: model.NodeReady, Roles: []string{"compute"},
			Created: fixedNow.Add(-time.Duration(i) * time.Hour), KubeletVersion: "v1.35.4", InternalIP: fmt.Sprintf("10.1.%d.%d", i/250, i%250),
			Pods: 10, CPUPct: i % 100, MemPct: (i * 7) % 100, Taints: i % 3,
		})
	}
	return snap
}

// BenchmarkRenderFrame5000Rows renders one 120x40 frame of the Nodes pane
// holding 5,000 rows, the selection in the middle.
func BenchmarkRenderFrame5000Rows(b *testing.B) {
	m := New(model.ClusterInfo{Server: "https://api.example.com:8443", Version: "v1.35.4"}, WithClock(func() time.Time { return fixedNow }))
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Update(bigSnapshot(5000))
	for range 2500 {
		m.nodes.table.Move(1)
	}
	b.ResetTimer()
	for b.Loop() {
		_ = m.Render()
	}
	perFrame := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perFrame.Microseconds())/1000, "ms/frame")
	fmt.Printf("render one frame of a 5,000-row table: %s (target ≤ %s)\n", perFrame.Round(time.Microsecond), targetFrame)
}

// BenchmarkApplySnapshot5000Nodes is the cost of taking in a new snapshot
// (rows rebuilt and measured), paid at most every 200 ms on a busy cluster.
func BenchmarkApplySnapshot5000Nodes(b *testing.B) {
	m := New(model.ClusterInfo{}, WithClock(func() time.Time { return fixedNow }))
	snap := bigSnapshot(5000)
	for b.Loop() {
		m.Update(snap)
	}
}
