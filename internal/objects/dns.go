package objects

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// kubernetesNdots is the ndots the kubelet gives a ClusterFirst pod.
const kubernetesNdots = "5"

// podDNS gives the tasks their DNS settings. A stack's service resolves the short names of the
// services it shares a network with, and only those, as Swarm's embedded DNS scopes names to
// networks: each network has a DNS domain (the headless Service NetworkDNSName(network), or the
// name the child's stack.AnnotationNetworkDNS gives it, whose
// endpoints the Stack controller names after the services on it), searched first. With the
// cluster's DNS server known the pod's resolv.conf is written whole (dnsPolicy None) so that
// these domains come before the namespace's; without it they are added after the kubelet's own.
// The service's own --dns, --dns-search and --dns-option come after the cluster's, as Swarm
// keeps its embedded DNS server first.
func podDNS(pod *corev1ac.PodSpecApplyConfiguration, svc *swarmv1.Service, in Inputs, opts translate.Options) {
	s := &svc.Spec
	var searches []string
	if in.Stack != "" {
		domain := opts.ClusterDomain
		if domain == "" {
			domain = translate.DefaultClusterDomain
		}
		renamed := stack.NetworkDNSNames(svc.Annotations)
		for _, n := range s.Networks {
			if n.Name == translate.HostNetworkName {
				continue // the node's network has no names of its own
			}
			name, ok := renamed[n.Name]
			if !ok {
				name = swarmv1.NetworkDNSName(n.Name)
			}
			searches = append(searches, name+"."+svc.Namespace+".svc."+domain)
		}
		if len(searches) > 0 && opts.ClusterDNS != "" {
			searches = append(searches, svc.Namespace+".svc."+domain, "svc."+domain, domain)
			dns := corev1ac.PodDNSConfig().WithNameservers(append([]string{opts.ClusterDNS}, s.DNS...)...).
				WithSearches(append(searches, s.DNSSearch...)...)
			if !hasDNSOption(s.DNSOptions, "ndots") {
				dns.WithOptions(corev1ac.PodDNSConfigOption().WithName("ndots").WithValue(kubernetesNdots))
			}
			dns.WithOptions(dnsOptions(s.DNSOptions)...)
			pod.WithDNSPolicy(corev1.DNSNone).WithDNSConfig(dns)
			return
		}
	}
	if len(searches)+len(s.DNS)+len(s.DNSSearch)+len(s.DNSOptions) > 0 {
		// Cluster DNS stays first so that service names still resolve, as Swarm's embedded DNS
		// server does; the given servers, domains and options are added.
		pod.WithDNSConfig(corev1ac.PodDNSConfig().WithNameservers(s.DNS...).
			WithSearches(append(searches, s.DNSSearch...)...).WithOptions(dnsOptions(s.DNSOptions)...))
	}
}

func dnsOptions(opts []string) []*corev1ac.PodDNSConfigOptionApplyConfiguration {
	var out []*corev1ac.PodDNSConfigOptionApplyConfiguration
	for _, o := range opts {
		name, value, hasValue := strings.Cut(o, ":")
		opt := corev1ac.PodDNSConfigOption().WithName(name)
		if hasValue {
			opt.WithValue(value)
		}
		out = append(out, opt)
	}
	return out
}

func hasDNSOption(opts []string, name string) bool {
	for _, o := range opts {
		if n, _, _ := strings.Cut(o, ":"); n == name {
			return true
		}
	}
	return false
}
