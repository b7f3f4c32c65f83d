// Package assets embeds the static texts and manifests day2 ships: the kwok
// stage definitions the local cluster's simulated nodes run on.
package assets

import (
	"embed"
	"io/fs"
)

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
