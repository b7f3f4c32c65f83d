// Package logging sends everything day2 and its libraries log to one file, so
// nothing is ever written to the terminal behind the full-screen UI: slog for
// our own code, klog for client-go, grpclog and zap for the etcd client.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/grpclog"
	"k8s.io/klog/v2"

	"github.com/day2ops/day2/internal/statedir"
)

// DefaultPath is ${XDG_STATE_HOME:-$HOME/.local/state}/day2/day2.log.
func DefaultPath() string { return filepath.Join(statedir.Dir(), "day2.log") }

// Setup opens (appends to) the log file at path and routes every logger to
// it. The returned closer flushes and closes the file.
func Setup(path string, level slog.Level) (io.Closer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	Route(f, level)
	return f, nil
}

// Route sends slog, klog, grpclog and the etcd client's zap logger to w.
func Route(w io.Writer, level slog.Level) {
	slog.SetDefault(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})))
	klog.LogToStderr(false)
	klog.SetOutput(w)
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, w, w))
	zapLogger = zap.New(zapcore.NewCore(
		zapcore.NewConsoleEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(w), zapcore.WarnLevel,
	))
}

var zapLogger = zap.NewNop()

// Zap is the logger to hand to the etcd client; it writes to the log file
// once Route has run, and nowhere before.
func Zap() *zap.Logger { return zapLogger }
