// Package statedir says where day2 keeps its state on this host: the log
// file and the procedure journals.
package statedir

import (
	"os"
	"path/filepath"
)

// Dir is ${XDG_STATE_HOME:-$HOME/.local/state}/day2.
func Dir() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "day2")
}
