// Package scalebench holds `make bench`'s scale run: a local cluster of
// 1,000 kwok nodes and 10,000 pods, and the real day2 binary started in a
// tmux terminal on it, measured from the outside as an operator meets it.
package scalebench
