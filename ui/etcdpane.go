package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/day2ops/day2/model"
)

// etcdPane is [2] etcd: the members, their health and the quorum maths.
type etcdPane struct {
	table Table
	snap  model.EtcdCluster
	seen  bool
	// diag is the last diagnosis (enter) of a member, shown while that
	// member is selected.
	diag    *model.MemberDiagnosis
	diagErr string
	diagID  string
}

type memberDiagnosed struct {
	id   string
	diag model.MemberDiagnosis
	err  error
}

func diagnoseMember(ctx context.Context, idHex string, diagnose func(context.Context, uint64) (model.MemberDiagnosis, error)) tea.Cmd {
	return func() tea.Msg {
		id, err := strconv.ParseUint(idHex, 16, 64)
		if err != nil {
			return memberDiagnosed{id: idHex, err: err}
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		d, err := diagnose(ctx, id)
		return memberDiagnosed{id: idHex, diag: d, err: err}
	}
}

func (p *etcdPane) setDiagnosis(msg memberDiagnosed) {
	p.diagID, p.diag, p.diagErr = msg.id, nil, ""
	if msg.err != nil {
		p.diagErr = msg.err.Error()
		return
	}
	p.diag = &msg.diag
}

func newEtcdPane() etcdPane {
	return etcdPane{table: NewTable(
		Column{Title: "ID"},
		Column{Title: "NAME", Flex: true},
		Column{Title: "ROLE", Width: len("unstarted")},
		Column{Title: "HEALTH", Width: len("unreachable")},
		Column{Title: "LATENCY", Right: true, Priority: 1},
		Column{Title: "DB SIZE", Right: true, Priority: 2, Width: len("999.9 MiB")},
		Column{Title: "RAFT INDEX", Right: true, Priority: 3},
		Column{Title: "ALARMS", Priority: 4},
		Column{Title: "CLIENT URL", Priority: 4},
		Column{Title: "VERSION", Priority: 5},
		Column{Title: "PEER URL", Priority: 6},
	)}
}

func (p *etcdPane) set(c model.EtcdCluster) {
	p.snap, p.seen = c, true
	leader, _ := c.Leader()
	rows := make([]Row, 0, len(c.Members))
	for _, m := range c.Members {
		health, level := memberHealth(m)
		latency, size, index := "", "", ""
		if m.Reached {
			latency = model.HumanLatency(m.Latency)
			size = model.HumanBytes(m.DBSize)
			index = fmt.Sprint(m.RaftIndex)
		}
		rows = append(rows, Row{Key: m.IDHex(), Level: level, Cells: []string{
			m.IDHex(), m.DisplayName(), memberRole(m, leader.ID), health, latency, size, index,
			strings.Join(m.Alarms, ","), first(m.ClientURLs), m.Version, first(m.PeerURLs),
		}, Sort: []string{5: fmt.Sprint(m.DBSize), 4: fmt.Sprint(m.Latency.Nanoseconds())}})
	}
	p.table.SetRows(rows)
}

func memberHealth(m model.EtcdMember) (string, Level) {
	switch {
	case !m.Started():
		return "unstarted", LevelWarn
	case m.Healthy:
		return "healthy", LevelNormal
	case m.Reached:
		return "unhealthy", LevelBad
	default:
		return "unreachable", LevelBad
	}
}

func memberRole(m model.EtcdMember, leader uint64) string {
	switch {
	case m.Learner:
		return "learner"
	case m.ID == leader && leader != 0:
		return "leader"
	default:
		return "follower"
	}
}

// orDash is s, or model.Unreported when it is not known.
func orDash(s string) string {
	if s == "" {
		return model.Unreported
	}
	return s
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func (p *etcdPane) title() string { return "etcd" }

func (p *etcdPane) tbl() *Table { return &p.table }

func (p *etcdPane) status(time.Time) (string, Level) {
	switch {
	case !p.seen:
		return "polling etcd…", LevelDim
	case p.snap.Err != "":
		return "etcd: " + p.snap.Err, LevelBad
	}
	return p.snap.Badge(), badgeLevel(p.snap)
}

func badgeLevel(c model.EtcdCluster) Level {
	switch c.State() {
	case model.QuorumHealthy:
		return LevelGood
	case model.QuorumDegraded:
		return LevelWarn
	case model.QuorumLost:
		return LevelBad
	}
	if c.Err != "" {
		return LevelBad
	}
	return LevelDim
}

func (p *etcdPane) view(width, height int, st Styles, _ time.Time) string {
	if !p.seen {
		return st.Level(LevelDim).Render("Polling etcd members…")
	}
	c := p.snap
	var top []string
	if c.Source != "" {
		top = append(top, st.Label.Render("source ")+c.Source)
	}
	if c.Err != "" {
		top = append(top, st.Level(LevelBad).Render("etcd unreachable: "+c.Err))
		return wrapLines(top, width)
	}
	leaderName := "none"
	if l, ok := c.Leader(); ok {
		leaderName = l.DisplayName()
	}
	top = append(top, fmt.Sprintf("%s %s  %s %d  %s %d  %s %d/%d  %s %d",
		st.Label.Render("etcd"), orDash(c.Version), st.Label.Render("members"), len(c.Members), st.Label.Render("quorum"), c.Quorum(),
		st.Label.Render("healthy"), c.HealthyVoters(), c.Voters(),
		st.Label.Render("fault tolerance"), max(c.FaultTolerance(), 0)),
		fmt.Sprintf("%s %s  %s %s  %s %x", st.Label.Render("leader"), leaderName,
			st.Label.Render("leader changes seen"), leaderChanges(c), st.Label.Render("cluster ID"), c.ClusterID))
	for _, a := range alarmLines(c) {
		for _, l := range strings.Split(ansi.Wordwrap(a, width, ""), "\n") {
			top = append(top, st.Level(LevelBad).Render(l))
		}
	}
	if c.State() == model.QuorumLost {
		top = append(top, st.Banner.Render(fmt.Sprintf(" NO QUORUM: %d of %d voting members healthy, %d needed ", c.HealthyVoters(), c.Voters(), c.Quorum())))
		var answering []string
		for _, m := range c.Members {
			if m.Reached {
				answering = append(answering, m.DisplayName())
			}
		}
		if len(answering) == 0 {
			answering = []string{"none"}
		}
		top = append(top, st.Level(LevelBad).Render("answering: "+strings.Join(answering, ", ")))
	}
	return tableWithDetail(&p.table, top, p.detail(st), width, height, st)
}

// leaderChanges is etcd's own counter (the most any member has seen since
// it started) and the changes day2 saw while watching.
func leaderChanges(c model.EtcdCluster) string {
	watched := fmt.Sprintf("%d while watched", c.LeaderChanges)
	if n, ok := c.MostLeaderChanges(); ok {
		return fmt.Sprintf("%d (members' counter) · %s", n, watched)
	}
	return watched
}

// alarmLines say what each raised alarm means and what to do about it.
func alarmLines(c model.EtcdCluster) []string {
	var out []string
	for _, a := range c.Alarms() {
		out = append(out, fmt.Sprintf("alarm %s on %s: %s", a.Alarm, a.Member, a.Advice()))
	}
	return out
}

// detail describes the selected member in full, for what the columns drop
// on a narrow terminal.
func (p *etcdPane) detail(st Styles) []string {
	m, ok := selectedItem(&p.table, p.snap.Members, model.EtcdMember.IDHex)
	if !ok {
		return nil
	}
	lines := []string{
		st.Label.Render("member ") + m.DisplayName() + " (" + m.IDHex() + ")",
		st.Label.Render("peer   ") + strings.Join(m.PeerURLs, ",") + "  " + st.Label.Render("client ") + strings.Join(m.ClientURLs, ","),
	}
	if m.Reached {
		lines = append(lines,
			fmt.Sprintf("%s term %d · index %d · applied %s", st.Label.Render("raft  "), m.RaftTerm, m.RaftIndex, m.AppliedIndexText()),
			fmt.Sprintf("%s %s · db %s (in use %s) · latency %s", st.Label.Render("etcd  "), m.Version,
				model.HumanBytes(m.DBSize), m.DBSizeInUseText(), model.HumanLatency(m.Latency)))
	}
	if m.Err != "" {
		lines = append(lines, st.Level(LevelBad).Render("error  "+m.Err))
	}
	switch {
	case p.diagID != m.IDHex():
		lines = append(lines, st.Label.Render("enter diagnoses this member (seed 001 §5.2.2)"))
	case p.diagErr != "":
		lines = append(lines, st.Level(LevelBad).Render("diagnosis: "+p.diagErr))
	case p.diag != nil:
		lines = append(lines, st.Label.Render("why    ")+fmt.Sprintf("%s → %s", p.diag.Fault, p.diag.Path))
		for _, r := range p.diag.Reasons {
			lines = append(lines, "  - "+r)
		}
	}
	return lines
}
