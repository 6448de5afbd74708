// Command volumes provisions the kwok test cluster's claims without touching the host: the
// cluster's nodes are simulated and never mount anything, so a claim needs a PersistentVolume
// object and nothing behind it. kube-controller-manager's in-tree hostPath provisioner (what the
// cluster used before) makes a directory under the host's /tmp/hostpath_pv for every claim and
// removes it whenever the claim goes, also while another tier's host check is running.
//
// The volumes point at a hostPath that is never created (/kwok-simulated/VOLUME); provisioning,
// binding, reclaiming and deletion are sig-storage-lib-external-provisioner's, as for any
// external provisioner.
//
//	go build -o BIN ./hack/kwok/volumes && BIN --kubeconfig FILE
//
// hack/local-cluster.sh starts it with the cluster (hack/kwok/storageclass.yaml names it) and
// stops it with the cluster.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

// Name is the StorageClass provisioner hack/kwok/storageclass.yaml names.
const Name = "kwok.kubeswarm.io/simulated"

// simulated provisions volumes that exist only as API objects.
type simulated struct{}

func (simulated) Provision(_ context.Context, o controller.ProvisionOptions) (*corev1.PersistentVolume, controller.ProvisioningState, error) {
	capacity, ok := o.PVC.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return nil, controller.ProvisioningFinished, fmt.Errorf("claim %s/%s requests no storage", o.PVC.Namespace, o.PVC.Name)
	}
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: o.PVName},
		Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: *o.StorageClass.ReclaimPolicy,
			AccessModes:                   o.PVC.Spec.AccessModes,
			VolumeMode:                    o.PVC.Spec.VolumeMode,
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: capacity},
			MountOptions:                  o.StorageClass.MountOptions,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				// Never created: the nodes that would mount it are simulated.
				HostPath: &corev1.HostPathVolumeSource{Path: path.Join("/kwok-simulated", o.PVName)},
			},
		},
	}, controller.ProvisioningFinished, nil
}

// Delete has nothing to remove behind the volume object.
func (simulated) Delete(context.Context, *corev1.PersistentVolume) error { return nil }

func main() {
	kubeconfig := flag.String("kubeconfig", "", "the cluster's kubeconfig file")
	klog.InitFlags(nil)
	flag.Parse()
	if err := run(*kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "volumes:", err)
		os.Exit(1)
	}
}

func run(kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// One process per cluster: no leader election (and the library's default: no metrics port).
	pc := controller.NewProvisionController(ctx, client, Name, simulated{}, controller.LeaderElection(false))
	pc.Run(ctx)
	return nil
}
