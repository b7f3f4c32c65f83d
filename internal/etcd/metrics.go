package etcd

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// leaderChangesMetric counts the leader changes a member has seen since it
// started: the history an operator opening the console at 3 a.m. needs
// (a flapping leader means slow disks or a loaded network).
const leaderChangesMetric = "etcd_server_leader_changes_seen_total"

// metricsEvery: the metrics page is read on one poll in this many (it is
// large, and the counter moves slowly).
const metricsEvery = 10

// leaderChanges reads the member's leader-change counter from its
// /metrics, over the same TLS as the etcd client.
func (p *Poller) leaderChanges(ctx context.Context, clientURL string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(clientURL, "/")+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics of %s: %w", clientURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metrics of %s: %s", clientURL, resp.Status)
	}
	return parseCounter(bufio.NewScanner(resp.Body), leaderChangesMetric)
}

// parseCounter finds an unlabelled counter in Prometheus text format.
func parseCounter(s *bufio.Scanner, name string) (int64, error) {
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		rest, ok := strings.CutPrefix(s.Text(), name+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return int64(v), nil
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s not in the metrics", name)
}
