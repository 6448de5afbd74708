package swarmsyntax

import (
	"fmt"
	"strings"
)

// NFS is an NFS export that a volume of docker's local driver mounts.
type NFS struct {
	// Server is the address from o: addr=….
	Server string
	// Path is the export, device: ":/path" without the colon.
	Path string
	// ReadOnly is o: ro.
	ReadOnly bool
}

// NFSVolume reads the volume docker's local driver mounts over NFS (moby
// volume/local/local_unix.go: type nfs or nfs4, o with addr=, device :/export), as Swarm users
// share storage between nodes:
//
//	driver_opts: {type: nfs, o: "addr=10.0.0.5,rw,nfsvers=4", device: ":/exports/data"}
//
// ok is false for any other volume; err names what an NFS volume lacks.
func NFSVolume(driver string, opts map[string]string) (nfs NFS, ok bool, err error) {
	if driver != "" && driver != "local" {
		return NFS{}, false, nil
	}
	if t := opts["type"]; t != "nfs" && t != "nfs4" {
		return NFS{}, false, nil
	}
	for _, o := range strings.Split(opts["o"], ",") {
		key, value, _ := strings.Cut(strings.TrimSpace(o), "=")
		switch key {
		case "addr":
			nfs.Server = value
		case "ro":
			nfs.ReadOnly = true
		}
	}
	device := opts["device"]
	if host, p, found := strings.Cut(device, ":"); found {
		if nfs.Server == "" {
			nfs.Server = host
		}
		nfs.Path = p
	}
	switch {
	case nfs.Server == "":
		return NFS{}, true, fmt.Errorf("an nfs volume needs the server's address: driver_opts o: addr=SERVER (or device: SERVER:/path)")
	case !strings.HasPrefix(nfs.Path, "/"):
		return NFS{}, true, fmt.Errorf("an nfs volume needs the export's path: driver_opts device: \":/path\", not %q", device)
	}
	return nfs, true, nil
}

// BindDevice reads the volume docker's local driver makes of a host directory (moby
// daemon/volume/local/local_unix.go mounts device on the volume with type none and o bind):
//
//	driver_opts: {type: none, o: bind, device: /srv/data}
//
// dir is the device, readOnly is o: ro. ok is false for any other volume; err names what such a
// volume lacks.
func BindDevice(driver string, opts map[string]string) (dir string, readOnly, ok bool, err error) {
	if driver != "" && driver != "local" || opts["type"] != "none" {
		return "", false, false, nil
	}
	bind := false
	for _, o := range strings.Split(opts["o"], ",") {
		switch strings.TrimSpace(o) {
		case "bind", "rbind":
			bind = true
		case "ro":
			readOnly = true
		}
	}
	dir = opts["device"]
	switch {
	case !bind:
		return "", false, true, fmt.Errorf("a local volume of type none mounts a host directory only with driver_opts o: bind, not %q", opts["o"])
	case !strings.HasPrefix(dir, "/"):
		return "", false, true, fmt.Errorf("a bind volume needs the host directory's absolute path: driver_opts device: /path, not %q", dir)
	}
	return dir, readOnly, true, nil
}

// CIFSVolume refuses a volume docker's local driver mounts over SMB (type cifs or smb3, moby
// daemon/volume/local/local_unix.go): Kubernetes has no in-tree CIFS volume, and a claim in its
// place would hold none of the share's data.
func CIFSVolume(driver string, opts map[string]string) error {
	if driver != "" && driver != "local" {
		return nil
	}
	if t := opts["type"]; t == "cifs" || t == "smb3" {
		return fmt.Errorf("a %s volume (an SMB share) has no Kubernetes equivalent: install the SMB CSI driver (smb.csi.k8s.io), make a claim of the share and use it as an external volume, or mount the share on every node and use a bind mount", t)
	}
	return nil
}

// MountedVolume tells whether the tasks mount a volume of driver and opts themselves (an NFS
// export, a host directory) rather than a claim; err is what makes the volume unusable (a
// malformed NFS or bind volume, an SMB share).
func MountedVolume(driver string, opts map[string]string) (bool, error) {
	if err := CIFSVolume(driver, opts); err != nil {
		return false, err
	}
	if _, nfs, err := NFSVolume(driver, opts); nfs || err != nil {
		return nfs, err
	}
	_, _, bind, err := BindDevice(driver, opts)
	return bind, err
}
