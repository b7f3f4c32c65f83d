package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// Main is a test package's TestMain body: it starts one cluster for the whole
// package (not one per test), hands it to use, runs the tests, and stops the
// cluster whatever happens, including SIGINT, SIGTERM and SIGHUP.
func Main(m *testing.M, opts Options, use func(*Cluster)) int {
	if opts.Progress == nil {
		opts.Progress = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	c, err := Start(ctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "local cluster: %v\n", err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "local cluster: %v: stopping\n", s)
		c.Stop()
		os.Exit(2)
	}()
	defer c.Stop()
	use(c)
	return m.Run()
}
