package translate

import swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"

// writerView are the operator options assumed where a service is written (the plugin, the
// compose converter): the operator's own flags are not known there. Every published port is
// taken as a node port (a port outside the cluster's range is the operator's to report), and
// bind mounts as allowed (whether the operator runs with --allow-bind-mounts is its to say), and
// the operator as knowing its own image for the files it installs (run in a cluster it does).
var writerView = Options{
	NodePortRange:   PortRange{Min: 1, Max: 65535},
	AllowBindMounts: true,
	FilesImage:      "the operator's image",
}

// Check is what the operator will say of a service, for the doors that write it to say first:
// err is what makes the Service Degraded, InvalidSpec (its very words: Build's), and notes are
// what its Honored condition will list. It runs Build itself, so the rules have one home.
func Check(svc *swarmv1.Service, in Inputs) (notes []string, err error) {
	objs, err := Build(svc, in, writerView)
	if err != nil {
		return nil, err
	}
	return objs.Notes, nil
}
