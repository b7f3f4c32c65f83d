package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/registry"
	"github.com/day2ops/day2/model"
)

// registriesConfPath is the file seed 003 §7.3 edits.
const registriesConfPath = "/" + registry.RegistriesConf

// editedKey records, per host, the backup of registries.conf the run made
// when it changed the file: the runtime is restarted only where it did.
var editedKey = stateKey[map[string]string]("registries-edited")

type registriesEdit struct {
	s       *Session
	changes []registry.ConfChange
	state   *RunState
}

// buildRegistriesEdit is seed 003 §7.3.1-7.3.4 on every chosen host, one
// host at a time: (drain,) edit registries.conf in its own form, validated
// by the parser the Registries pane uses, restart the runtime that reads
// it, (uncordon).
func buildRegistriesEdit(s *Session, p params) (*Procedure, error) {
	e := &registriesEdit{s: s, state: NewRunState()}
	for _, c := range []struct{ param, kind string }{
		{"add-search", registry.ChangeSearch}, {"add-insecure", registry.ChangeInsecure},
		{"add-block", registry.ChangeBlock}, {"remove", registry.ChangeRemove},
	} {
		for _, reg := range strings.Split(p[c.param], ",") {
			if reg = strings.TrimSpace(reg); reg != "" {
				e.changes = append(e.changes, registry.ConfChange{Kind: c.kind, Registry: reg})
			}
		}
	}
	if len(e.changes) == 0 {
		return nil, errors.New("no change: give --add-search, --add-insecure, --add-block or --remove")
	}
	// Refuse a bad name now, not on the first host.
	if _, err := registry.EditConf(nil, model.ReadingContainers, e.changes); err != nil {
		return nil, err
	}
	hosts, err := s.chooseHosts(p)
	if err != nil {
		return nil, err
	}
	var steps []*Step
	for _, h := range hosts {
		if p.bool("drain") {
			if h.Node == "" {
				return nil, fmt.Errorf("--drain: %s is no node of the cluster", h.Name)
			}
			dp := params{"node": h.Node, "timeout": p["timeout"], "delete-emptydir-data": p["delete-emptydir-data"], "force": p["force"]}
			drain, err := buildDrain(s, dp)
			if err != nil {
				return nil, err
			}
			for _, st := range drain.Steps {
				steps = append(steps, hostStep("registries-edit", st, h))
			}
		}
		steps = append(steps, hostStep("registries-edit", e.editStep(h), h), hostStep("registries-edit", e.restartStep(h), h))
		if p.bool("drain") {
			steps = append(steps, hostStep("registries-edit", cordonStep(newDrainer(s), h.Node, false), h))
		}
	}
	return &Procedure{State: e.state, Steps: steps}, nil
}

// hostConf is one host's registries.conf and how it is read there.
type hostConf struct {
	h             hostfs.Host
	reading, why  string
	form          string
	edit          hostfs.Edit
	before, after model.RegistriesConfig
}

// plan reads the host's file and plans the edit, validated: the result
// must parse as the host's runtime reads it and hold every change.
func (e *registriesEdit) plan(ctx context.Context, mh model.Host) (hostConf, error) {
	var c hostConf
	h, err := e.s.accessHost(ctx, mh)
	if err != nil {
		return c, err
	}
	c.h = h
	c.reading, c.why = registry.DetectReadingOn(h)
	c.edit, err = hostfs.PlanEdit(h, registriesConfPath, func(old []byte) ([]byte, error) {
		c.form = registry.ConfForm(old, c.reading)
		before, perr := registry.ParseConf(registriesConfPath, old, c.reading)
		if perr != nil {
			return nil, fmt.Errorf("as it is now, %s cannot read it: %w", c.reading, perr)
		}
		c.before = before
		return registry.EditConf(old, c.reading, e.changes)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return c, fmt.Errorf("%s has no %s: nothing to edit (seed 003 §7.3 edits the file the runtime package installed)", mh.Name, registriesConfPath)
	}
	if err != nil {
		return c, err
	}
	if c.after, err = e.validate(c.edit.New, c.reading); err != nil {
		return c, fmt.Errorf("the edited file would not do: %w", err)
	}
	return c, nil
}

// validate parses a registries.conf as the host reads it and checks that
// it holds every change.
func (e *registriesEdit) validate(data []byte, reading string) (model.RegistriesConfig, error) {
	cfg, err := registry.ParseConf(registriesConfPath, data, reading)
	if err != nil {
		return cfg, err
	}
	for _, c := range e.changes {
		if err := registry.CheckChange(cfg, c); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

func (e *registriesEdit) editStep(mh model.Host) *Step {
	return &Step{
		ID: "edit", Title: "Edit " + registriesConfPath + " on " + mh.Name,
		Check: func(ctx context.Context) error { _, err := e.plan(ctx, mh); return err },
		Plan: func(ctx context.Context) (Plan, error) {
			c, err := e.plan(ctx, mh)
			if c.h == nil {
				return nil, err
			}
			plan := Plan{fmt.Sprintf("%s reads it as %s (%s); written in the %s form, kept", mh.Name, c.reading, c.why, orNone(c.form))}
			for _, ch := range e.changes {
				plan = append(plan, ch.String())
			}
			switch {
			case err != nil:
				return plan, nil // the check says why
			case !c.edit.Changes():
				return append(plan, "already so: the file stays as it is"), nil
			}
			plan = append(plan, fmt.Sprintf("on %s: back up %s beside itself, then write:", mh.Name, registriesConfPath))
			for _, l := range strings.Split(strings.TrimRight(c.edit.Diff, "\n"), "\n") {
				plan = append(plan, "  "+l)
			}
			plan = append(plan, fmt.Sprintf("after: search %v, insecure %v, blocked %v", c.after.Search, c.after.Insecure, c.after.Blocked))
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			c, err := e.plan(ctx, mh)
			if err != nil {
				return err
			}
			if !c.edit.Changes() {
				progress(mh.Name + ": already so")
				return nil
			}
			bak, err := hostfs.Apply(c.h, c.edit, time.Now())
			if err != nil {
				return fmt.Errorf("%s: %w", mh.Name, err)
			}
			edited, _ := editedKey.Get(e.state)
			if edited == nil {
				edited = map[string]string{}
			}
			edited[mh.Name] = bak
			editedKey.Set(e.state, edited)
			progress(fmt.Sprintf("%s: %s written, the previous one kept as %s", mh.Name, registriesConfPath, bak))
			return nil
		},
		Verify: func(ctx context.Context) error {
			h, err := e.s.accessHost(ctx, mh)
			if err != nil {
				return err
			}
			data, err := h.ReadFile(registriesConfPath)
			if err != nil {
				return err
			}
			reading, _ := registry.DetectReadingOn(h)
			_, err = e.validate(data, reading)
			return err
		},
	}
}

func (e *registriesEdit) restartStep(mh model.Host) *Step {
	unit := func(ctx context.Context) (string, error) {
		h, err := e.s.accessHost(ctx, mh)
		if err != nil {
			return "", err
		}
		u, _ := registry.DetectRuntime(h)
		return u, nil
	}
	return &Step{
		ID: "restart", Title: "Restart the container runtime on " + mh.Name, Skippable: true,
		Applies: func(ctx context.Context) (bool, string) {
			if edited, _ := editedKey.Get(e.state); edited[mh.Name] == "" {
				return false, "this run did not change " + registriesConfPath + " on " + mh.Name
			}
			if u, err := unit(ctx); err == nil && u == "" {
				return false, "no docker or CRI-O on " + mh.Name + ": podman reads registries.conf at each run"
			}
			return true, ""
		},
		Plan: func(ctx context.Context) (Plan, error) {
			u, err := unit(ctx)
			if err != nil {
				return nil, err
			}
			return Plan{
				fmt.Sprintf("on %s: systemctl restart %s, then systemctl is-active %s", mh.Name, u, u),
				"restarting " + u + " restarts the containers it runs on " + mh.Name + " (seed 003 §7.3.1); --drain moves the pods away first",
				"skipping leaves the change unused until " + u + " restarts",
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			h, err := e.s.accessHost(ctx, mh)
			if err != nil {
				return err
			}
			u, _ := registry.DetectRuntime(h)
			_, err = runOn(ctx, h, "systemctl restart "+u, progress)
			return err
		},
		Verify: func(ctx context.Context) error {
			h, err := e.s.accessHost(ctx, mh)
			if err != nil {
				return err
			}
			u, _ := registry.DetectRuntime(h)
			if _, err := runOn(ctx, h, "systemctl is-active "+u, nil); err != nil {
				return fmt.Errorf("%s is not active on %s: %w", u, mh.Name, err)
			}
			return nil
		},
	}
}
