package ops

import (
	"context"

	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/model"
)

// WatchCSRs hands publish a model.CSRs snapshot — every
// CertificateSigningRequest, oldest first, each with its verdict — whenever
// the requests, or the nodes they are checked against, change, until ctx
// ends. It reads nodes from the session's node watch, so Run must be
// running; until that watch has listed the nodes, snapshots are not Synced
// and verdicts are unchecked.
func (s *Session) WatchCSRs(ctx context.Context, publish func(model.CSRs)) error {
	return kube.NewCSRWatcher(s.client, s.nodes).Run(ctx, publish)
}
