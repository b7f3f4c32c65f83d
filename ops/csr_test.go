package ops

import (
	"context"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// The CSR table's feed: with the session running, the seeded requests
// arrive with their verdicts.
func TestWatchCSRs(t *testing.T) {
	s := session(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Run(ctx, func(any) {})
	snaps := make(chan model.CSRs, 1)
	go func() {
		_ = s.WatchCSRs(ctx, func(c model.CSRs) {
			select {
			case snaps <- c:
			case <-ctx.Done():
			}
		})
	}()
	want := map[string]model.CSRVerdictKind{
		localcluster.ValidCSR: model.CSRValid, localcluster.WrongCNCSR: model.CSRInvalid, localcluster.NewNodeCSR: model.CSRNewNode,
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case c := <-snaps:
			got := map[string]model.CSRVerdictKind{}
			for _, r := range c.Items {
				got[r.Name] = r.Verdict.Kind
			}
			ok := c.Synced
			for name, kind := range want {
				ok = ok && got[name] == kind
			}
			if ok {
				return
			}
		case <-timeout:
			t.Fatal("the seeded CSRs never arrived with their verdicts")
		}
	}
}
