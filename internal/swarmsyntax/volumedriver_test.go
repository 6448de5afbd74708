package swarmsyntax

import "testing"

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
