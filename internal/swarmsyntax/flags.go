package swarmsyntax

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/docker/go-connections/nat"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// SplitCSV splits docker's comma-separated key=value options; quoted fields may hold commas.
func SplitCSV(s string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(s))
	fields, err := r.Read()
	if err != nil {
		return nil, err
	}
	return fields, nil
}

// parseBool is docker's boolean option value.
func parseBool(key, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("invalid value for %s: %s", key, v)
	}
	return b, nil
}

// ParsePublish reads one --publish value: the short form "[published:]target[/proto]" (ranges
// "8000-8001:80-81") or the long form "published=8000,target=80,protocol=tcp,mode=host".
func ParsePublish(s string) ([]swarmv1.PortConfig, error) {
	if strings.Contains(s, "=") {
		p := swarmv1.PortConfig{Protocol: "tcp", Mode: swarmv1.PortModeIngress}
		fields, err := SplitCSV(s)
		if err != nil {
			return nil, err
		}
		for _, f := range fields {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return nil, fmt.Errorf("invalid field %s", f)
			}
			switch strings.ToLower(k) {
			case "mode":
				mode, ok := PublishMode(v)
				if !ok {
					return nil, fmt.Errorf("invalid publish mode value (%s): must be either '%s' or '%s'", v, "ingress", "host")
				}
				p.Mode = mode
			case "target":
				n, err := portNumber(v)
				if err != nil {
					return nil, err
				}
				p.Target = n
			case "published":
				n, err := portNumber(v)
				if err != nil {
					return nil, err
				}
				p.Published = n
			case "protocol":
				proto, ok := Protocol(v)
				if !ok {
					return nil, fmt.Errorf("invalid protocol value '%s'", v)
				}
				p.Protocol = proto
			default:
				return nil, fmt.Errorf("invalid field key %s", k)
			}
		}
		if p.Target == 0 {
			return nil, fmt.Errorf("missing mandatory field %q", "target")
		}
		return []swarmv1.PortConfig{p}, nil
	}
	proto := "tcp"
	spec := s
	if i := strings.LastIndex(s, "/"); i >= 0 {
		p, ok := Protocol(s[i+1:])
		if !ok {
			return nil, fmt.Errorf("invalid proto: %s", strings.ToLower(s[i+1:]))
		}
		spec, proto = s[:i], p
	}
	_, pub, tgt, err := splitShortPublish(spec)
	if err != nil {
		return nil, err
	}
	tlo, thi, err := PortRange(tgt)
	if err != nil {
		return nil, err
	}
	if tlo == 0 {
		return nil, fmt.Errorf("invalid port: %s", tgt)
	}
	var plo, phi int32
	if pub != "" {
		if plo, phi, err = PortRange(pub); err != nil {
			return nil, err
		}
		if phi-plo != thi-tlo && plo != phi {
			return nil, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", tgt, pub)
		}
	}
	var out []swarmv1.PortConfig
	for i := int32(0); i <= thi-tlo; i++ {
		p := swarmv1.PortConfig{Target: tlo + i, Protocol: proto, Mode: swarmv1.PortModeIngress}
		if pub != "" {
			p.Published = plo
			if phi != plo {
				p.Published = plo + i
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// splitShortPublish splits the short form "[[hostip:]published:]target" (an IPv6 host IP in
// brackets). The host IP is read, and checked, only to be ignored (IgnoredHostIP).
func splitShortPublish(spec string) (hostIP, published, target string, err error) {
	parts := strings.Split(spec, ":")
	switch n := len(parts); n {
	case 1:
		return "", "", parts[0], nil
	case 2:
		return "", parts[0], parts[1], nil
	default:
		hostIP = strings.Join(parts[:n-2], ":")
		if strings.HasPrefix(hostIP, "[") && strings.HasSuffix(hostIP, "]") {
			hostIP = hostIP[1 : len(hostIP)-1]
		}
		if hostIP != "" && net.ParseIP(hostIP) == nil {
			return "", "", "", fmt.Errorf("invalid IP address: %s", hostIP)
		}
		return hostIP, parts[n-2], parts[n-1], nil
	}
}

// IgnoredHostIP is docker's warning for a published port bound to a host IP, "" when the IP is
// empty or unspecified (0.0.0.0, ::). Swarm's ingress listens on every address, so docker
// ignores the IP (opts.ConvertPortToPortConfig); kubeswarm does the same, in the compose
// converter and the plugin's --publish alike.
func IgnoredHostIP(hostIP, published, target, protocol string) string {
	if ip := net.ParseIP(hostIP); ip == nil || ip.IsUnspecified() {
		return ""
	}
	return fmt.Sprintf("ignoring IP-address (%s:%s/%s) service will listen on '0.0.0.0'", net.JoinHostPort(hostIP, published), target, protocol)
}

// PublishWarning is the warning for one --publish value: IgnoredHostIP's, for a short form with
// a host IP; "" otherwise (and for a value ParsePublish refuses).
func PublishWarning(s string) string {
	if strings.Contains(s, "=") {
		return ""
	}
	spec, proto, _ := strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	hostIP, pub, tgt, err := splitShortPublish(spec)
	if err != nil {
		return ""
	}
	return IgnoredHostIP(hostIP, pub, tgt, strings.ToLower(proto))
}

func portNumber(s string) (int32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil {
		return 0, fmt.Errorf("invalid port: %s", s)
	}
	return int32(n), nil
}

// PortRange reads a port or a range ("8000", "8000-8010") with docker's parser
// (go-connections/nat); "" is 0-0: a port the cluster chooses.
func PortRange(s string) (first, last int32, err error) {
	lo, hi, err := nat.ParsePortRangeToInt(strings.TrimSpace(s))
	if err != nil {
		return 0, 0, fmt.Errorf("invalid port: %s", s)
	}
	return int32(lo), int32(hi), nil
}

// ParseMount reads one --mount value: "type=volume,source=x,target=/y,readonly", …
func ParseMount(s string) (swarmv1.Mount, error) {
	m := swarmv1.Mount{Type: swarmv1.MountVolume}
	fields, err := SplitCSV(s)
	if err != nil {
		return m, err
	}
	var volOpts swarmv1.VolumeOptions
	var bindOpts swarmv1.BindOptions
	var tmpfsOpts swarmv1.TmpfsOptions
	hasVol, hasBind, hasTmpfs := false, false, false
	for _, f := range fields {
		k, v, hasValue := strings.Cut(f, "=")
		k = strings.ToLower(k)
		if !hasValue && k != "readonly" && k != "ro" && k != "volume-nocopy" {
			return m, fmt.Errorf("invalid field '%s' must be a key=value pair", f)
		}
		switch k {
		case "type":
			switch v {
			case "volume", "bind", "tmpfs":
				m.Type = swarmv1.MountType(v)
			case "npipe", "cluster", "image":
				return m, fmt.Errorf("mount type %q is not supported on Kubernetes", v)
			default:
				return m, fmt.Errorf("invalid mount type %q", v)
			}
		case "source", "src":
			m.Source = v
		case "target", "dst", "destination":
			m.Target = v
		case "readonly", "ro":
			m.ReadOnly = true
			if hasValue {
				if m.ReadOnly, err = parseBool(k, v); err != nil {
					return m, err
				}
			}
		case "consistency":
		case "bind-propagation":
			bindOpts.Propagation, hasBind = strings.ToLower(v), true
		case "bind-nonrecursive", "bind-recursive":
			return m, fmt.Errorf("%s is not supported on Kubernetes", k)
		case "volume-nocopy":
			volOpts.NoCopy, hasVol = true, true
			if hasValue {
				if volOpts.NoCopy, err = parseBool(k, v); err != nil {
					return m, err
				}
			}
		case "volume-subpath":
			volOpts.Subpath, hasVol = v, true
		case "volume-label":
			lk, lv, _ := strings.Cut(v, "=")
			if volOpts.Labels == nil {
				volOpts.Labels = map[string]string{}
			}
			volOpts.Labels[lk], hasVol = lv, true
		case "volume-driver":
			volOpts.Driver, hasVol = v, true
		case "volume-opt":
			ok, ov, _ := strings.Cut(v, "=")
			if volOpts.DriverOptions == nil {
				volOpts.DriverOptions = map[string]string{}
			}
			volOpts.DriverOptions[ok], hasVol = ov, true
		case "tmpfs-size":
			q, err := Memory(v)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", k, v)
			}
			tmpfsOpts.Size, hasTmpfs = q, true
		case "tmpfs-mode":
			n, err := OctalMode(v, 0o7777)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", k, v)
			}
			mode := OctalDigits(n)
			tmpfsOpts.Mode, hasTmpfs = &mode, true
		default:
			return m, fmt.Errorf("unexpected key '%s' in '%s'", k, f)
		}
	}
	if m.Target == "" {
		return m, errors.New("target is required")
	}
	switch m.Type {
	case swarmv1.MountVolume:
		if hasBind || hasTmpfs {
			return m, fmt.Errorf("cannot mix 'bind-*' or 'tmpfs-*' options with mount type '%s'", m.Type)
		}
		if hasVol {
			m.Volume = &volOpts
		}
	case swarmv1.MountBind:
		if hasVol || hasTmpfs {
			return m, fmt.Errorf("cannot mix 'volume-*' or 'tmpfs-*' options with mount type '%s'", m.Type)
		}
		if m.Source == "" {
			return m, errors.New("source is required when specifying bind mount")
		}
		if hasBind {
			m.Bind = &bindOpts
		}
	case swarmv1.MountTmpfs:
		if hasVol || hasBind {
			return m, fmt.Errorf("cannot mix 'volume-*' or 'bind-*' options with mount type '%s'", m.Type)
		}
		if m.Source != "" {
			return m, errors.New("source must not be specified for tmpfs mounts")
		}
		if hasTmpfs {
			m.Tmpfs = &tmpfsOpts
		}
	}
	return m, nil
}

// ParseFileReference reads --secret / --config: "name" or "source=,target=,uid=,gid=,mode=".
func ParseFileReference(s string) (swarmv1.FileReference, error) {
	ref := swarmv1.FileReference{}
	if !strings.Contains(s, "=") {
		ref.Source = s
		return ref, nil
	}
	fields, err := SplitCSV(s)
	if err != nil {
		return ref, err
	}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return ref, fmt.Errorf("invalid field '%s' must be a key=value pair", f)
		}
		switch strings.ToLower(k) {
		case "source", "src":
			ref.Source = v
		case "target":
			ref.Target = v
		case "uid":
			ref.UID = v
		case "gid":
			ref.GID = v
		case "mode":
			n, err := OctalMode(v, 0o777)
			if err != nil {
				return ref, fmt.Errorf("invalid mode specified: %v", v)
			}
			mode := int32(n)
			ref.Mode = &mode
		default:
			return ref, fmt.Errorf("invalid field in secret request: %s", k)
		}
	}
	if ref.Source == "" {
		return ref, errors.New("source is required")
	}
	return ref, nil
}

// ParseNetwork reads --network: "name" or "name=x,alias=y".
func ParseNetwork(s string) (swarmv1.NetworkAttachment, error) {
	if !strings.Contains(s, "=") {
		return swarmv1.NetworkAttachment{Name: s}, nil
	}
	n := swarmv1.NetworkAttachment{}
	fields, err := SplitCSV(s)
	if err != nil {
		return n, err
	}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		switch strings.ToLower(k) {
		case "name", "target":
			n.Name = v
		case "alias":
			n.Aliases = append(n.Aliases, v)
		case "driver-opt":
		default:
			return n, fmt.Errorf("invalid field key %s", k)
		}
	}
	if n.Name == "" {
		return n, errors.New("network name/id is not specified")
	}
	return n, nil
}

// ParseKeyValue reads "key=value" ("key" alone is an empty value).
func ParseKeyValue(s string) (string, string) {
	k, v, _ := strings.Cut(s, "=")
	return k, v
}

// ParseEnv reads -e: "KEY=VALUE", or "KEY" which takes the value from the local environment, as
// docker does.
func ParseEnv(s string) (swarmv1.EnvVar, error) {
	k, v, ok := strings.Cut(s, "=")
	if k == "" {
		return swarmv1.EnvVar{}, fmt.Errorf("invalid environment variable: %s", s)
	}
	if !ok {
		v = os.Getenv(k)
	}
	return swarmv1.EnvVar{Name: k, Value: v}, nil
}

// ReadEnvFile reads an --env-file: KEY=VALUE lines, '#' comments and blank lines skipped.
func ReadEnvFile(path string) ([]swarmv1.EnvVar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []swarmv1.EnvVar
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := ParseEnv(line)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// ParseHost reads --host "host:ip" (or "host=ip").
func ParseHost(s string) (swarmv1.HostEntry, error) {
	sep := ":"
	if strings.Contains(s, "=") {
		sep = "="
	}
	h, ip, ok := strings.Cut(s, sep)
	if !ok || h == "" || ip == "" {
		return swarmv1.HostEntry{}, fmt.Errorf("bad format for add-host: %q", s)
	}
	return swarmv1.HostEntry{Hostname: h, IP: ip}, nil
}

// ParseUlimit reads --ulimit "nofile=1024:2048" (soft:hard; one number is both).
func ParseUlimit(s string) (swarmv1.Ulimit, error) {
	name, limits, ok := strings.Cut(s, "=")
	if !ok {
		return swarmv1.Ulimit{}, fmt.Errorf("invalid ulimit argument: %s", s)
	}
	soft, hard, hasHard := strings.Cut(limits, ":")
	sv, err := strconv.ParseInt(soft, 10, 64)
	if err != nil {
		return swarmv1.Ulimit{}, fmt.Errorf("invalid ulimit soft value: %s", soft)
	}
	hv := sv
	if hasHard {
		if hv, err = strconv.ParseInt(hard, 10, 64); err != nil {
			return swarmv1.Ulimit{}, fmt.Errorf("invalid ulimit hard value: %s", hard)
		}
	}
	if sv > hv {
		return swarmv1.Ulimit{}, fmt.Errorf("ulimit soft limit must be less than or equal to hard limit: %d > %d", sv, hv)
	}
	return swarmv1.Ulimit{Name: name, Soft: sv, Hard: hv}, nil
}

// ParseGenericResource reads --generic-resource "kind=value".
func ParseGenericResource(s string) (swarmv1.GenericResource, error) {
	k, v, ok := strings.Cut(s, "=")
	n, err := strconv.ParseInt(v, 10, 64)
	if !ok || k == "" || err != nil || n < 1 {
		return swarmv1.GenericResource{}, fmt.Errorf("invalid generic resource specification: %s", s)
	}
	return swarmv1.GenericResource{Kind: k, Value: n}, nil
}

// ParsePlacementPref reads --placement-pref "spread=node.labels.zone".
func ParsePlacementPref(s string) (swarmv1.PlacementPreference, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return swarmv1.PlacementPreference{}, errors.New("placement preference must be of the format \"<strategy>=<arg>\"")
	}
	if k != "spread" {
		return swarmv1.PlacementPreference{}, fmt.Errorf("unsupported placement preference %s (only spread is supported)", k)
	}
	if _, err := SpreadLabel(v); err != nil {
		return swarmv1.PlacementPreference{}, err
	}
	return swarmv1.PlacementPreference{Spread: v}, nil
}

// ShellSplit splits a command line as docker's shlex does for --entrypoint and --args.
func ShellSplit(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord, quote, escape := false, rune(0), false
	for _, r := range s {
		switch {
		case escape:
			cur.WriteRune(r)
			escape = false
		case r == '\\' && quote != '\'':
			escape, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("EOF found when expecting closing quote")
	}
	if escape {
		return nil, errors.New("EOF found after escape character")
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// Protocol is a port's protocol as Swarm knows it, lower-cased: tcp (also for ""), udp or
// sctp; ok is false for any other. Each front door words its own refusal, as docker does.
func Protocol(s string) (proto string, ok bool) {
	switch p := strings.ToLower(s); p {
	case "":
		return "tcp", true
	case "tcp", "udp", "sctp":
		return p, true
	}
	return "", false
}

// PublishMode is a published port's mode: ingress (also for "") or host; ok is false for any
// other.
func PublishMode(s string) (mode swarmv1.PortMode, ok bool) {
	switch m := swarmv1.PortMode(strings.ToLower(s)); m {
	case "":
		return swarmv1.PortModeIngress, true
	case swarmv1.PortModeIngress, swarmv1.PortModeHost:
		return m, true
	}
	return "", false
}
