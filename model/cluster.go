package model

// ClusterInfo is what the header says about the cluster the console is on.
type ClusterInfo struct {
	Server  string // API server URL
	Context string // kubeconfig context, or "in-cluster"
	// ConfigSource says which kubeconfig was used (a path, or "in-cluster").
	ConfigSource string
	Version      string // server version, once known
	Err          string // why the version could not be read, if it could not
}
