package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/model"
)

// openShift is what the API server says about the cluster a backup comes
// from: its version and, on OpenShift 4, the control-plane operators.
type openShift struct {
	kubeVersion string
	// present: the ClusterOperator API exists (OpenShift 4).
	present   bool
	version   string // ClusterVersion "version": the desired release
	operators []model.OperatorStatus
	// unread says why the API could not be asked (a backup is still
	// worth taking while the API is down).
	unread string
}

const configV1 = "/apis/config.openshift.io/v1"

// openShift asks the API server for its version, whether it is OpenShift 4,
// and the conditions of the ClusterOperators.
func (s *Session) openShift(ctx context.Context) (openShift, error) {
	var o openShift
	dc := s.client.Discovery()
	v, err := dc.ServerVersion()
	if err != nil {
		o.unread = err.Error()
		return o, nil
	}
	o.kubeVersion = v.GitVersion
	res, err := dc.ServerResourcesForGroupVersion("config.openshift.io/v1")
	if apierrors.IsNotFound(err) {
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("discover config.openshift.io/v1: %w", err)
	}
	o.present = slices.ContainsFunc(res.APIResources, func(r metav1.APIResource) bool { return r.Name == "clusteroperators" })
	if !o.present {
		return o, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var list struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
			Status   struct {
				Conditions []struct{ Type, Status, Message string } `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	raw, err := dc.RESTClient().Get().AbsPath(configV1, "clusteroperators").DoRaw(cctx)
	if err == nil {
		err = json.Unmarshal(raw, &list)
	}
	if err != nil {
		o.unread = "ClusterOperators: " + err.Error()
		return o, nil
	}
	for _, it := range list.Items {
		st := model.OperatorStatus{Name: it.Metadata.Name}
		for _, c := range it.Status.Conditions {
			on := c.Status == "True"
			switch c.Type {
			case "Available":
				st.Available = on
			case "Degraded":
				st.Degraded = on
			case "Progressing":
				st.Progressing, st.Message = on, c.Message
			}
		}
		o.operators = append(o.operators, st)
	}
	var cv struct {
		Status struct {
			Desired struct{ Version string } `json:"desired"`
		} `json:"status"`
	}
	if raw, err := dc.RESTClient().Get().AbsPath(configV1, "clusterversions", "version").DoRaw(cctx); err == nil && json.Unmarshal(raw, &cv) == nil {
		o.version = cv.Status.Desired.Version
	}
	return o, nil
}

// describe is the plan's account of what was checked.
func (o openShift) describe() Plan {
	switch {
	case o.kubeVersion == "":
		return Plan{"the API server does not answer (" + o.unread + "): versions and ClusterOperators not checked"}
	case !o.present:
		return Plan{"Kubernetes " + o.kubeVersion + "; not OpenShift 4 (no ClusterOperator API): no operator check, no static pod resources"}
	case o.unread != "":
		return Plan{"OpenShift 4 (" + o.kubeVersion + "): " + o.unread + ": operators not checked"}
	}
	var states []string
	for _, name := range model.BackupOperators {
		state := "absent"
		for _, op := range o.operators {
			if op.Name == name {
				state = "settled"
				if op.Progressing {
					state = "PROGRESSING"
				}
			}
		}
		states = append(states, name+" "+state)
	}
	return Plan{fmt.Sprintf("OpenShift %s (Kubernetes %s): ClusterOperators %s", orNone(o.version), o.kubeVersion, strings.Join(states, ", "))}
}
