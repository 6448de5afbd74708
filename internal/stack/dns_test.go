package stack

import (
	"strings"
	"testing"

	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

func TestValidateDNSNameConflict(t *testing.T) {
	st := testutil.SeedStack()
	st.Spec.Services[2].Name = "common"
	err := Validate(st)
	if err == nil || !strings.Contains(err.Error(), "service common: its Service name wp-common is also the DNS name of network common; rename the service or the network") {
		t.Fatalf("Validate: %v", err)
	}
}

func TestNFSVolumeIsMounted(t *testing.T) {
	st := testutil.SeedStack()
	st.Spec.Volumes[0].DriverOptions = map[string]string{"type": "nfs", "o": "addr=10.0.0.5", "device": ":/exports/mysql"}
	db := Child(st, st.Spec.Services[1])
	m := db.Spec.Mounts[0]
	if m.Volume == nil || m.Volume.DriverOptions["device"] != ":/exports/mysql" || m.Source != "wp-mysql-vol" {
		t.Errorf("dbcluster's mount %+v, want the volume's driver options on it (as docker's convert does)", m)
	}
}
