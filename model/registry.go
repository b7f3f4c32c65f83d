package model

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// RegistryMirror is a [[registry.mirror]] of registries.conf v2: a location
// tried before the registry itself for images under its prefix.
type RegistryMirror struct {
	Location string
	Insecure bool
	// PullFromMirror restricts the mirror to digest pulls ("digest-only")
	// or tag pulls ("tag-only"); "" or "all" for both.
	PullFromMirror string
}

// RegistryEntry is one registry as containers/image sees it: a v2
// [[registry]] table, or a name from the v1 insecure or block lists.
type RegistryEntry struct {
	// Prefix is what image names are matched against: a host[:port], a
	// namespace under one, or "*.example.com". Location is where matching
	// images are pulled from; it is empty only for a wildcard prefix, whose
	// images are pulled from the matched host itself.
	Prefix, Location  string
	Insecure, Blocked bool
	Mirrors           []RegistryMirror
	// MirrorByDigestOnly uses the mirrors for digest pulls only.
	MirrorByDigestOnly bool
}

// How a host's registries configuration is read: by containers/image (the
// library CRI-O and podman use), or by docker (RHEL 7's docker on a 3.11
// node: the v1 lists of the main file only).
const (
	ReadingContainers = "CRI-O/podman"
	ReadingDocker     = "docker"
)

// RegistryAlias is a short-name alias of registries.conf's [aliases].
type RegistryAlias struct{ Name, Value string }

// RegistriesConfig is a host's container registry configuration: its
// /etc/containers/registries.conf and registries.conf.d drop-ins (seed 003
// §7.3).
type RegistriesConfig struct {
	// Version is the format read: 1 for the [registries.*] tables or the
	// YAML-like form of OpenShift 3.11, 2 for [[registry]] tables; 2 as soon
	// as any file read is v2.
	Version int
	// Search lists the registries tried, in order, for unqualified image
	// names ([registries.search] in v1, unqualified-search-registries in v2).
	// nil means no file set it.
	Search []string
	// Insecure and Blocked are the prefixes of Registries so marked: the v1
	// lists, or their equivalent for v2.
	Insecure, Blocked []string
	// Registries has one entry per prefix, sorted by prefix, as
	// containers/image merges them; v1 lists become entries as its v1-to-v2
	// conversion makes them.
	Registries []RegistryEntry
	// Sources are the files read, in order, as host paths.
	Sources []string

	// Reading is ReadingContainers or ReadingDocker, and ReadingWhy the
	// evidence it was decided on (which runtime the node runs).
	Reading, ReadingWhy string
	// Ignored are files the reading does not use (drop-ins under docker).
	Ignored []string
	// ShortNameMode is containers/image's short-name-mode ("enforcing",
	// "permissive", "disabled"), and Aliases its short-name aliases, sorted.
	ShortNameMode string
	Aliases       []RegistryAlias
	// InsecureRanges are CIDR entries of docker's insecure list
	// ("172.30.0.0/16"): ranges of addresses, never registries to probe.
	InsecureRanges []string
}

// Levels of a RegistryFinding.
const (
	FindingWarn = "warn" // works, but should be fixed
	FindingFail = "fail" // pulls from this registry fail
)

// Kinds of a RegistryFinding.
const (
	FindingInsecure       = "insecure"        // pulls skip TLS verification
	FindingUntrusted      = "untrusted"       // no CA installed for a secure registry
	FindingInsecureImport = "insecure-import" // oc import-image may skip TLS verification
)

// RegistryFinding is something about a registry an operator should fix.
type RegistryFinding struct {
	Registry string // the location as configured
	Level    string // FindingWarn or FindingFail
	Kind     string // FindingInsecure, FindingUntrusted or FindingInsecureImport
	Message  string
}

// Findings flags what seed 003 §7.3.3-7.3.4 asks an operator to look at:
// every insecure registry or mirror that pulls may use (warn: "should be
// avoided") and every secure one without a trusted CA (fail: "otherwise the
// pull image operation fails"). trusted reports whether a CA is installed for
// a host[:port]; whether system roots make a public registry trusted is the
// caller's decision. Blocked registries are skipped: nothing is pulled from
// them.
func (c RegistriesConfig) Findings(trusted func(hostport string) bool) []RegistryFinding {
	var out []RegistryFinding
	seen := map[string]bool{}
	for _, ep := range c.pullEndpoints() {
		if seen[ep.location] {
			continue
		}
		seen[ep.location] = true
		if f, ok := ep.finding(trusted); ok {
			out = append(out, f)
		}
	}
	return out
}

// pullEndpoint is a location pulls may go to, and in what role.
type pullEndpoint struct {
	location string
	insecure bool
	role     string // "registry" or "mirror of <prefix>"
}

// pullEndpoints lists where pulls may go: search registries that no entry
// rewrites, then every entry that is not blocked, and the mirrors of every
// entry, blocked or not (containers/image refuses the blocked source, not
// its mirrors) unless a mirror is itself inside a blocked scope.
func (c RegistriesConfig) pullEndpoints() []pullEndpoint {
	var eps []pullEndpoint
	for _, s := range c.Search {
		e, ok := c.entryFor(s)
		// docker allows a searched registry even when blocked (seed 003
		// §7.3.4: "blocked unless it is also whitelisted" by the search list).
		allowed := !ok || !e.Blocked || c.Reading == ReadingDocker
		// Otherwise the entry's own location is listed below.
		ownLocation := !ok || e.Blocked || e.Location == ""
		if allowed && ownLocation {
			eps = append(eps, pullEndpoint{location: s, insecure: ok && e.Insecure, role: "registry"})
		}
	}
	for _, e := range c.Registries {
		loc := e.Location
		if loc == "" {
			loc = e.Prefix
		}
		if !e.Blocked && !isCIDR(loc) {
			eps = append(eps, pullEndpoint{location: loc, insecure: e.Insecure, role: "registry"})
		}
		for _, m := range e.Mirrors {
			if !c.BlockedScope(m.Location) {
				eps = append(eps, pullEndpoint{location: m.Location, insecure: m.Insecure, role: "mirror of " + e.Prefix})
			}
		}
	}
	return eps
}

// isCIDR tells an address range ("172.30.0.0/16", docker's insecure
// ranges) from a registry name: never something to pull from or probe.
func isCIDR(s string) bool {
	_, _, err := net.ParseCIDR(s)
	return err == nil
}

// BlockedScope tells whether pulls from location are refused: the entry
// containers/image finds for it (the longest matching prefix, a
// "*.domain" prefix matching subdomains) is blocked.
func (c RegistriesConfig) BlockedScope(location string) bool {
	best, bestLen := RegistryEntry{}, -1
	for _, e := range c.Registries {
		if n := prefixMatch(location, e.Prefix); n > bestLen {
			best, bestLen = e, n
		}
	}
	return bestLen >= 0 && best.Blocked
}

// prefixMatch is the length of prefix when it matches ref at a path
// boundary (containers/image's refMatchingPrefix), or of a matching
// "*.domain" prefix; -1 otherwise.
func prefixMatch(ref, prefix string) int {
	if strings.HasPrefix(prefix, "*.") {
		if wildcardMatches(prefix, hostPort(ref)) {
			return len(prefix)
		}
		return -1
	}
	if ref == prefix || (strings.HasPrefix(ref, prefix) && len(ref) > len(prefix) && strings.ContainsRune("/:@", rune(ref[len(prefix)]))) {
		return len(prefix)
	}
	return -1
}

func (ep pullEndpoint) finding(trusted func(string) bool) (RegistryFinding, bool) {
	hp := hostPort(ep.location)
	switch {
	case ep.insecure:
		return RegistryFinding{ep.location, FindingWarn, FindingInsecure, "insecure " + ep.role + ": pulls skip TLS verification"}, true
	case strings.HasPrefix(hp, "*."):
		return RegistryFinding{}, false // no single host whose CA could be checked
	case !trusted(hp):
		return RegistryFinding{ep.location, FindingFail, FindingUntrusted, fmt.Sprintf(
			"%s without a trusted CA: pulls fail until its CA is in /etc/docker/certs.d/%s/ca.crt", ep.role, hp)}, true
	}
	return RegistryFinding{}, false
}

// entryFor returns the entry that governs pulls from a bare host[:port], as
// containers/image picks it: the exact prefix, else the longest matching
// "*.domain" prefix.
func (c RegistriesConfig) entryFor(host string) (RegistryEntry, bool) {
	var best RegistryEntry
	found := false
	for _, e := range c.Registries {
		if e.Prefix == host {
			return e, true
		}
		if wildcardMatches(e.Prefix, host) && (!found || len(e.Prefix) > len(best.Prefix)) {
			best, found = e, true
		}
	}
	return best, found
}

func wildcardMatches(prefix, host string) bool {
	domain, ok := strings.CutPrefix(prefix, "*")
	if !ok || !strings.HasPrefix(domain, ".") {
		return false
	}
	name, _, _ := strings.Cut(host, ":")
	return strings.HasSuffix(name, domain)
}

// hostPort is the host[:port] of a location that may carry a namespace
// ("mirror.example.com:5000/library"): the name of its certs.d directory.
func hostPort(location string) string {
	hp, _, _ := strings.Cut(location, "/")
	return hp
}

// ImportRegistry is an imagePolicyConfig.allowedRegistriesForImport entry of
// master-config.yaml (seed 003 §7.3.7): where `oc import-image` may import
// from, and whether without TLS verification.
type ImportRegistry struct {
	DomainName string
	Insecure   bool
}

// ProbeResult is one HTTP probe of a registry endpoint.
type ProbeResult struct {
	URL     string
	Status  int    // 0 when no response came
	Meaning string // ProbeMeaning of Status, or why no response came
	Latency time.Duration
	// APIVersion is the Docker-Distribution-API-Version header
	// ("registry/2.0" on a v2 registry).
	APIVersion string
	// CertNotAfter is the serving certificate's expiry, also when the
	// certificate was rejected; zero over plain HTTP.
	CertNotAfter time.Time
	Err          string
}

// ProbeMeaning says what a status means for a registry path: "/v2/" is the
// distribution API's version check (401 is a live registry asking for
// credentials), "/healthz" the health check seed 003 §3.5.2 curls.
func ProbeMeaning(path string, status int) string {
	switch strings.TrimSuffix(path, "/") {
	case "/v2":
		switch status {
		case 200:
			return "v2 registry, anonymous access"
		case 401:
			return "alive, wants authentication"
		case 404:
			return "not a v2 registry"
		}
	case "/healthz":
		switch status {
		case 200:
			return "healthy"
		case 404:
			return "no /healthz endpoint"
		case 503:
			return "unhealthy"
		}
	}
	return statusMeaning(status)
}

func statusMeaning(status int) string {
	switch {
	case status == 401:
		return "wants authentication"
	case status == 403:
		return "forbidden"
	case status == 404:
		return "not found"
	case status == 503:
		return "unavailable"
	case status >= 500 && status < 600:
		return "server error"
	case status >= 300 && status < 400:
		return "redirected"
	case status >= 200 && status < 300:
		return "ok"
	}
	return fmt.Sprintf("unexpected status %d", status)
}
