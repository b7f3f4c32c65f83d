package localcluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// AuditEvent is the part of a kube-apiserver audit record tests look at.
type AuditEvent struct {
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	// ImpersonatedUser is who the request acted as (rest.Config.Impersonate).
	ImpersonatedUser *struct {
		Username string `json:"username"`
	} `json:"impersonatedUser"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	StageTimestamp time.Time `json:"stageTimestamp"`
}

// Mutating reports verbs that change state. Creating an access or token
// review only asks a question: nothing is stored.
func (e AuditEvent) Mutating() bool {
	if e.ObjectRef != nil && strings.HasSuffix(e.ObjectRef.Resource, "reviews") {
		return false
	}
	switch e.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// AuditEvents reads the audit log: every request by user (or made as user,
// impersonated) since the given time (the log is written synchronously, so a request that returned is in it).
func (c *Cluster) AuditEvents(user string, since time.Time) ([]AuditEvent, error) {
	f, err := os.Open(c.AuditLog)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	var out []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		if e.actor() == user && !e.StageTimestamp.Before(since) {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

// actor is who the request acted as: the impersonated user if any.
func (e AuditEvent) actor() string {
	if e.ImpersonatedUser != nil {
		return e.ImpersonatedUser.Username
	}
	return e.User.Username
}

// MasterAdmin is the identity of a master's admin.kubeconfig: what day2 uses
// in the demo and the tests, and what the audit log records for its calls.
const MasterAdmin = "system:admin"
