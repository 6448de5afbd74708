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

import "strings"

// StackObjectName is the Kubernetes name of a stack's object: docker names them
// "<stack>_<name>"; kubeswarm uses "<stack>-<name>", lower-cased, with "_" and "." as "-", so
// that the secret db_pass of stack wp is the Secret wp-db-pass and the service wordpress the
// Service wp-wordpress.
func StackObjectName(stack, name string) string {
	return strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(stack + "-" + name))
}
