package swarmsyntax

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNFSVolume(t *testing.T) {
	tests := []struct {
		name    string
		driver  string
		opts    map[string]string
		want    NFS
		ok      bool
		wantErr string
	}{
		{name: "docker's documented nfs volume", opts: map[string]string{"type": "nfs", "o": "addr=10.0.0.5,rw,nfsvers=4", "device": ":/exports/data"},
			want: NFS{Server: "10.0.0.5", Path: "/exports/data"}, ok: true},
		{name: "nfs4, read-only, local driver named", driver: "local", opts: map[string]string{"type": "nfs4", "o": "addr=nas.lan,ro", "device": ":/srv"},
			want: NFS{Server: "nas.lan", Path: "/srv", ReadOnly: true}, ok: true},
		{name: "server in the device", opts: map[string]string{"type": "nfs", "device": "nas:/srv"}, want: NFS{Server: "nas", Path: "/srv"}, ok: true},
		{name: "a local bind volume is not nfs", opts: map[string]string{"type": "none", "o": "bind", "device": "/data"}},
		{name: "another driver", driver: "rexray/ebs", opts: map[string]string{"type": "nfs"}},
		{name: "no server", opts: map[string]string{"type": "nfs", "device": ":/srv"}, ok: true,
			wantErr: "an nfs volume needs the server's address: driver_opts o: addr=SERVER (or device: SERVER:/path)"},
		{name: "no path", opts: map[string]string{"type": "nfs", "o": "addr=nas"}, ok: true,
			wantErr: `an nfs volume needs the export's path: driver_opts device: ":/path", not ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := NFSVolume(tt.driver, tt.opts)
			if ok != tt.ok || got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("got %+v %v %v, want %+v %v %q", got, ok, err, tt.want, tt.ok, tt.wantErr)
			}
		})
	}
}

func TestMountedVolume(t *testing.T) {
	type result struct {
		Dir            string
		ReadOnly, Bind bool
		Mounted        bool
		Err            string
	}
	tests := []struct {
		name   string
		driver string
		opts   map[string]string
		want   result
	}{
		{name: "a host directory", opts: map[string]string{"type": "none", "o": "bind", "device": "/srv/data"},
			want: result{Dir: "/srv/data", Bind: true, Mounted: true}},
		{name: "rbind, read-only, local driver named", driver: "local", opts: map[string]string{"type": "none", "o": "rbind,ro", "device": "/srv"},
			want: result{Dir: "/srv", ReadOnly: true, Bind: true, Mounted: true}},
		{name: "type none without bind", opts: map[string]string{"type": "none", "device": "/srv"},
			want: result{Bind: true, Mounted: true, Err: `a local volume of type none mounts a host directory only with driver_opts o: bind, not ""`}},
		{name: "a relative device", opts: map[string]string{"type": "none", "o": "bind", "device": "srv"},
			want: result{Bind: true, Mounted: true, Err: `a bind volume needs the host directory's absolute path: driver_opts device: /path, not "srv"`}},
		{name: "an nfs export is mounted", opts: map[string]string{"type": "nfs", "o": "addr=nas", "device": ":/srv"},
			want: result{Mounted: true}},
		{name: "an SMB share is refused", opts: map[string]string{"type": "cifs", "o": "username=u,password=p", "device": "//nas/share"},
			want: result{Err: "a cifs volume (an SMB share) has no Kubernetes equivalent: install the SMB CSI driver (smb.csi.k8s.io), make a claim of the share and use it as an external volume, or mount the share on every node and use a bind mount"}},
		{name: "another driver's options are its own", driver: "rexray/ebs", opts: map[string]string{"type": "cifs"}},
		{name: "a plain volume is a claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got result
			var err error
			got.Dir, got.ReadOnly, got.Bind, err = BindDevice(tt.driver, tt.opts)
			if err != nil {
				got.Err = err.Error()
			}
			mounted, err := MountedVolume(tt.driver, tt.opts)
			got.Mounted = mounted
			if err != nil {
				got.Err = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
