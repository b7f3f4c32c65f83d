# day2 — see README.md. `make demo` and `make test` are the two commands.
SHELL   := /bin/bash
GO      ?= go
BIN     := bin/day2
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The commit's time, not the clock's: two release builds of one commit are
# byte for byte the same, so anyone can check a published sha256 by rebuilding.
DATE    ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
BUILDINFO := github.com/day2ops/day2/internal/buildinfo
STAMP    = -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT) -X $(BUILDINFO).date=$(DATE)
# Release builds: where they go and the architectures OpenShift runs on.
DIST           ?= dist
RELEASE_ARCHES ?= amd64 arm64 ppc64le s390x
# Flags for `make demo`, e.g. DEMO_FLAGS="--workers 20 --keep".
DEMO_FLAGS ?=
# Go test timeout per package for `make test` (CI has 90 minutes in all; the
# ops package runs every etcd procedure on etcd 3.3, 3.5 and 3.6).
TEST_TIMEOUT ?= 50m

# Packages with benchmarks against local clusters (each run once), and the
# UI's pure render benchmarks (run as often as Go needs for a stable figure).
BENCH_PKGS ?= ./ops/ ./internal/scalebench/ ./internal/etcd/
UI_BENCH_PKGS ?= ./ui/

.PHONY: build release test bench demo tools lint clean

# A developer build: static like a release (no cgo, so it starts on any
# master's glibc and resolves users and names as a release does), with debug
# information and full paths kept for debugging.
build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(STAMP)" -o $(BIN) ./cmd/day2

# Static, stripped, reproducible binaries for every architecture, each with
# its sha256 (sha256sum -c format): dist/day2-<version>-linux-<arch>[.sha256].
# internal/buildinfo's test runs this and proves what it promises.
release:
	@mkdir -p $(DIST)
	@set -e; for arch in $(RELEASE_ARCHES); do \
		name=day2-$(VERSION)-linux-$$arch; \
		echo "$(DIST)/$$name"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(STAMP)" -o $(DIST)/$$name ./cmd/day2; \
		(cd $(DIST) && sha256sum $$name >$$name.sha256); \
	done

# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
# etcd, etcdctl, etcdutl and kwok into ~/.cache/day2/tools/<key>/ (once), and
# installs OpenSSH for the local cluster's hosts when missing (tools/sshd.sh).
tools:
	@tools/build.sh >/dev/null
	@tools/sshd.sh

# All tests, against a real local cluster; fails if any control-plane process
# or simulated host's sshd outlives them. ([r]: the pattern must not match
# this shell's own command line, which spells it out.)
test: lint
	@tools/sshd.sh
	@tools_dir=$$(tools/build.sh) && \
	DAY2_TOOLS_DIR=$$tools_dir $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./... && \
	left="$$tools_dir/|/var/lib/day2-localcluste[r]/" && \
	if pgrep -f "$$left" >/dev/null; then \
		echo "make test: processes left running by the tests:" >&2; pgrep -af "$$left" >&2; exit 1; \
	fi

# Speed and memory figures, against the real local cluster; every benchmark
# prints its figures and targets. Not part of `make test`.
bench:
	@tools/sshd.sh
	@tools_dir=$$(tools/build.sh) && \
	DAY2_TOOLS_DIR=$$tools_dir $(GO) test -run '^$$' -bench . -benchtime=1x -count=1 -timeout 30m $(BENCH_PKGS)
	$(GO) test -short -run '^$$' -bench . -count=1 $(UI_BENCH_PKGS)

demo: build
	@tools/sshd.sh
	@tools_dir=$$(tools/build.sh) && DAY2_TOOLS_DIR=$$tools_dir $(BIN) demo $(DEMO_FLAGS)

lint:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [[ -n $$unformatted ]]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi
	@tools/lint-layers.sh

clean:
	rm -rf bin $(DIST)
