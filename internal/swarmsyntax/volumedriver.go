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
