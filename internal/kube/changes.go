package kube

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
)

// changes turns informer events into at most one snapshot per interval
// (a busy cluster sends thousands of events a second) and keeps the last
// watch error for the snapshot to carry.
type changes struct {
	dirty chan struct{}
	mu    sync.Mutex
	err   string
}

func newChanges() *changes { return &changes{dirty: make(chan struct{}, 1)} }

// mark notes a change; errText is the watch error now ("" when none).
func (c *changes) mark(errText string) {
	c.mu.Lock()
	c.err = errText
	c.mu.Unlock()
	select {
	case c.dirty <- struct{}{}:
	default:
	}
}

// lastErr is the watch error to show, "" when the watch is fine.
func (c *changes) lastErr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// watch marks every add, update and delete of inf, and its watch errors
// (a forbidden or unreachable API shows in the pane, not on stderr).
func (c *changes) watch(inf cache.SharedIndexInformer, resource string) error {
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.mark("") },
		UpdateFunc: func(any, any) { c.mark("") },
		DeleteFunc: func(any) { c.mark("") },
	}); err != nil {
		return err
	}
	return inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		slog.Warn("watch failed", "resource", resource, "err", err)
		c.mark("watch " + resource + ": " + err.Error())
	})
}

// publishLoop calls publish after each change, at most once per interval,
// until ctx ends.
func (c *changes) publishLoop(ctx context.Context, interval time.Duration, publish func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.dirty:
		}
		publish()
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
