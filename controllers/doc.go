// Package controllers holds kubeswarm's reconcilers: one per kind.
package controllers
