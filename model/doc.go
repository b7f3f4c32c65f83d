// Package model holds day2's domain types and the pure rules over them
// (node status, quorum maths, formatting). It does no I/O and imports no
// client library, so every rule can be tested alone.
package model
