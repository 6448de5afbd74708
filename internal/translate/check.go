package translate

import (
	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/proxylabels"
)

// rule is one of the operator's rules for a service spec: what it refuses (err, naming the field
// and the fix) and what it reports as approximated (notes), given the operator's options.
type rule func(svc *swarmv1.Service, opts Options) (notes []string, err error)

// rules are every rule, in the order in which the objects read (the task's container, volumes,
// security, placement and labels, then the service's own labels and Kubernetes Service), which
// is the order of the notes.
var rules = []rule{
	envRule, containerPortsRule, resourcesRule, mountsRule, filesRule, hostnameRule, podSecurityRule,
	constraintsRule, preferencesRule, slotsRule, sharedClaimRule, networksRule, hostNetworkRule, taskNamesRule, standaloneAliasesRule,
	containerLabelsRule, ignoredRule, serviceLabelsRule, routeLabelsRule, servicePortsRule,
}

// Verdict is what the operator says of svc when it runs with opts: err is what makes the Service
// Degraded, InvalidSpec (the first rule that refuses it), and notes are what its Honored
// condition lists. objects.Build starts with it, and builds only what it accepts.
func Verdict(svc *swarmv1.Service, opts Options) (notes []string, err error) {
	for _, r := range rules {
		n, err := r(svc, opts)
		if err != nil {
			return nil, err
		}
		notes = append(notes, n...)
	}
	return notes, nil
}

// writerView are the operator options assumed where a service is written (the plugin, the
// compose converter): the operator's own flags are not known there. Every published port is
// taken as a node port (a port outside the cluster's range is the operator's to report), and
// bind mounts and the host network as allowed (whether the operator runs with --allow-bind-mounts
// and --allow-host-network is its to say), and
// the operator as knowing its own image for the files it installs (run in a cluster it does).
var writerView = Options{
	NodePortRange:    PortRange{Min: 1, Max: 65535},
	AllowBindMounts:  true,
	AllowHostNetwork: true,
	FilesImage:       "the operator's image",
}

// Check is what the operator will say of a service, for the doors that write it to say first:
// err is what makes the Service Degraded, InvalidSpec, and notes are what its Honored condition
// will list: the Verdict, with the options a writer can assume.
func Check(svc *swarmv1.Service) (notes []string, err error) {
	return Verdict(svc, writerView)
}

// networksRule refuses a network whose name cannot label the tasks (TaskLabels).
func networksRule(svc *swarmv1.Service, _ Options) ([]string, error) {
	_, err := TaskLabels(svc, "")
	return nil, err
}

// containerLabelsRule reports the container labels that cannot be annotations of the tasks.
func containerLabelsRule(svc *swarmv1.Service, _ Options) ([]string, error) {
	_, notes := Annotations("containerLabels", svc.Spec.ContainerLabels)
	return notes, nil
}

// serviceLabelsRule reports the service labels that cannot be annotations of its objects.
func serviceLabelsRule(svc *swarmv1.Service, _ Options) ([]string, error) {
	_, notes := Annotations("labels", svc.Spec.Labels)
	return notes, nil
}

// routeLabelsRule refuses the proxy labels whose routes the API server would refuse (a host
// that is not a DNS name), which would otherwise fail only when the routes are applied, after
// the service was written.
func routeLabelsRule(svc *swarmv1.Service, _ Options) ([]string, error) {
	return nil, proxylabels.Check(svc.Spec.Labels)
}
