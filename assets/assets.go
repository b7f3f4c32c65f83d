// Package assets embeds the static texts and manifests day2 ships: the
// explanations of procedure steps (written from the seed guides) and the kwok
// stage definitions the local cluster's simulated nodes run on.
package assets

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed steps/*.md
var steps embed.FS

// StepText is the explanation of a procedure's step:
// steps/<procedure>.<step>.md, or steps/<step>.md for a step several
// procedures share (cordon, evict...).
func StepText(procedure, step string) (string, error) {
	b, err := steps.ReadFile(fmt.Sprintf("steps/%s.%s.md", procedure, step))
	if err != nil {
		b, err = steps.ReadFile(fmt.Sprintf("steps/%s.md", step))
	}
	if err != nil {
		return "", fmt.Errorf("explanation of %s step %s: %w", procedure, step, err)
	}
	return string(b), nil
}

//go:embed kwok/*.yaml
var kwokStages embed.FS

// KwokStages returns the kwok Stage documents (copied from sigs.k8s.io/kwok
// v0.8.0 kustomize/stage: node-initialize, node-heartbeat-with-lease,
// pod-ready, pod-complete, pod-delete), in a stable order.
func KwokStages() ([][]byte, error) {
	entries, err := fs.ReadDir(kwokStages, "kwok")
	if err != nil {
		return nil, err
	}
	var docs [][]byte
	for _, e := range entries {
		b, err := kwokStages.ReadFile("kwok/" + e.Name())
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
	return docs, nil
}
