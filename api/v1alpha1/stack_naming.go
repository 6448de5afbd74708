/*
Copyright 2026 The kubeswarm Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The naming rule of a stack's objects, in one place: the Stack controller, the compose
// converter and the plugin all name (and find) a stack's objects with these functions.

// KubernetesName is a docker name as a Kubernetes name: lower-cased, with "_" and "." as "-"
// (docker's wp_wordpress is wp-wordpress).
func KubernetesName(name string) string {
	return strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(name))
}

// StackObjectName is the Kubernetes name of a stack's object: docker names them
// "<stack>_<name>"; kubeswarm uses "<stack>-<name>", lower-cased, with "_" and "." as "-", so
// that the secret db_pass of stack wp is the Secret wp-db-pass and the service wordpress the
// Service wp-wordpress.
func StackObjectName(stack, name string) string { return KubernetesName(stack + "-" + name) }

// StackDockerName is docker's name of a stack's object, "<stack>_<name>", as docker's messages
// show it.
func StackDockerName(stack, name string) string { return stack + "_" + name }

// StackServiceShortName is the name, within its stack, of a stack's Service (StackObjectName's
// inverse): wordpress for wp-wordpress.
func StackServiceShortName(stack, service string) string {
	return strings.TrimPrefix(service, StackObjectName(stack, ""))
}

// ValidateStackServiceName checks that a stack's service can have a Kubernetes Service: its
// name, StackObjectName(stack, service), is a DNS label starting with a letter.
func ValidateStackServiceName(stack, service string) error {
	if child := StackObjectName(stack, service); len(validation.IsDNS1035Label(child)) > 0 {
		return fmt.Errorf("its Service name %s must be a DNS label of at most 63 characters starting with a letter; use a shorter stack or service name", child)
	}
	return nil
}

// NetworkDNSName is the headless Service that holds a network's names: the stack's services on
// the network (and their aliases on it) resolve, for the tasks on that network, through the DNS
// search domain <network>.<namespace>.svc.<cluster domain>. It is the network's Kubernetes
// name, as its NetworkPolicy's.
func NetworkDNSName(network string) string { return KubernetesName(network) }
