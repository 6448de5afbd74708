package objects

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// AliasServices give a service outside a stack its network aliases (translate.StandaloneAliases)
// in its namespace, where its own name is its Kubernetes Service: an ExternalName Service per
// alias, a CNAME to the service's own name, so that an alias answers exactly as the name does (the
// virtual IP, or the tasks' addresses with endpoint mode dnsrr), as Swarm's DNS answers an alias
// with the service. The service controls them; they carry translate.LabelAliasOf, which the
// controller prunes by.
func AliasServices(svc *swarmv1.Service, opts translate.Options) []*corev1ac.ServiceApplyConfiguration {
	domain := opts.ClusterDomain
	if domain == "" {
		domain = translate.DefaultClusterDomain
	}
	target := fmt.Sprintf("%s.%s.svc.%s", svc.Name, svc.Namespace, domain)
	var out []*corev1ac.ServiceApplyConfiguration
	for _, a := range translate.StandaloneAliases(svc) {
		out = append(out, corev1ac.Service(a, svc.Namespace).
			WithLabels(map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelAliasOf: svc.Name}).
			WithOwnerReferences(OwnerReference(svc)).
			WithSpec(corev1ac.ServiceSpec().WithType(corev1.ServiceTypeExternalName).WithExternalName(target)))
	}
	return out
}
