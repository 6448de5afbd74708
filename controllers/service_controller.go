package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/objects"
	"github.com/kubeswarm/kubeswarm/internal/translate"
	"github.com/kubeswarm/kubeswarm/internal/update"
)

// FieldOwner is the server-side apply field manager of everything kubeswarm writes.
const FieldOwner = "kubeswarm"

// ConditionHonored is True when Kubernetes realises every option of a Service's spec exactly,
// and False, listing them in its message, when some are approximated or ignored.
const ConditionHonored = swarmv1.ConditionHonored

// Condition reasons of the Service controller.
const (
	ReasonInvalidSpec   = "InvalidSpec"
	ReasonApproximated  = "OptionsApproximated"
	ReasonAllHonored    = "AllOptionsHonored"
	ReasonPortInUse     = "PortInUse"
	ReasonUpdatePaused  = "UpdatePaused"
	ReasonMissingObject = "MissingObject"
	ReasonJobFailed     = "JobFailed"
	ReasonJobComplete   = "Completed"
)

// Errors that wait for something outside the Service to change: they are reported in status and
// retried after conflictRetry, as the object in the way is not watched.
var (
	// errNameConflict: an object of the child's name exists but belongs to someone else.
	errNameConflict = errors.New("name conflict")
	// errPortInUse: a published port is another Service's node port.
	errPortInUse = errors.New("port in use")
	// errMissingObject: a Secret, ConfigMap or claim the service needs is not there (yet).
	errMissingObject = errors.New("missing object")
)

// conflictRetry is how often a Service blocked by another object's name or port tries again.
const conflictRetry = 15 * time.Second

// missingRetry is how often a Service that mounts a missing Secret or ConfigMap looks again.
const missingRetry = 5 * time.Second

// ServiceReconciler reconciles a Service into a Deployment or DaemonSet and a Kubernetes Service.
type ServiceReconciler struct {
	childApplier
	Options translate.Options
	// Routes are the settings of the routes made of proxy labels (service_routes.go).
	Routes RouteOptions
	// Clock tells the time (a fake one in tests); nil means the real clock.
	Clock clock.PassiveClock
	// ImageHealthchecks reads the HEALTHCHECK of services' images from their registries (nil:
	// the tasks run only a healthcheck written in the service).
	ImageHealthchecks *images.Healthchecks
	// stale knows the cached Services older than this controller's last status write.
	stale staleReads
}

func (r *ServiceReconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}

// +kubebuilder:rbac:groups=swarm.kubeswarm.io,resources=services,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=swarm.kubeswarm.io,resources=services/status,verbs=patch
// +kubebuilder:rbac:groups=apps,resources=deployments;daemonsets;statefulsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=pods;nodes;configmaps,verbs=get;list;watch
// Secrets are read one by one, only those a service mounts, in its namespace (for their keys);
// never listed or watched, so that the operator holds no Secret of the cluster.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile makes the Kubernetes objects of a Service match its spec and reports their state.
func (r *ServiceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	svc := &swarmv1.Service{}
	if err := r.Get(ctx, req.NamespacedName, svc); apierrors.IsNotFound(err) {
		return ctrl.Result{}, r.releasePorts(ctx, req.NamespacedName)
	} else if err != nil {
		return ctrl.Result{}, err
	}
	if !svc.DeletionTimestamp.IsZero() {
		// Children go with the Service through their owner references; its published ports
		// are freed at once, as `docker service rm` frees them.
		return ctrl.Result{}, r.releasePorts(ctx, req.NamespacedName)
	}
	if namespaceDeleting(ctx, r.Client, svc.Namespace) {
		return ctrl.Result{}, nil
	}
	if r.stale.stale(svc) {
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	log := ctrl.LoggerFrom(ctx).WithValues("service", klog.KObj(svc))
	ctx = ctrl.LoggerInto(ctx, log)

	status := svc.Status.DeepCopy()
	requeue, err := r.reconcile(ctx, svc, status)
	if namespaceTerminating(err) {
		return ctrl.Result{}, nil
	}
	res := ctrl.Result{RequeueAfter: requeue}
	if errors.Is(err, errNameConflict) || errors.Is(err, errPortInUse) {
		// Reported in status; retried quietly until the other object goes.
		res, err = ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	setServiceHealth(svc, status)
	err = errors.Join(err, r.updateStatus(ctx, svc, status))
	if apierrors.IsConflict(err) {
		// This pass read a Service older than the last write (the cache lags behind our own
		// writes); the next pass reads the newer one.
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	return res, err
}

// staleRetry is how soon a pass that read a stale Service is done again.
const staleRetry = 100 * time.Millisecond

// reconcile runs the steps in order and records the outcome in status. It returns when to look
// again while an update is under way.
func (r *ServiceReconciler) reconcile(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus) (time.Duration, error) {
	status.Selector = translate.SelectorString(svc.Name)
	// The service's tasks, read once for the update's judgement, their admission and the status.
	tasks := &corev1.PodList{}
	if err := r.List(ctx, tasks, client.InNamespace(svc.Namespace), client.MatchingLabels(translate.SelectorLabels(svc.Name))); err != nil {
		return 0, fmt.Errorf("listing the tasks: %w", err)
	}
	if err := r.handleRollbackRequest(ctx, svc, status); err != nil {
		return 0, err
	}
	// What follows builds from the operator's view of the service: a volume whose one claim
	// exists stays shared (translate.WithExistingClaims). The service itself (written back by a
	// rollback) is written back only by watchUpdate.
	orig := svc
	if translate.PerSlot(svc) {
		claims, err := existingClaims(ctx, r.Client, svc.Namespace)
		if err != nil {
			return 0, err
		}
		if svc, err = translate.WithExistingClaims(svc, claims); err != nil {
			r.setDegraded(orig, status, ReasonInvalidSpec, fmt.Sprintf("The spec cannot be applied, nothing was changed: %v", err))
			return 0, r.observeWorkload(ctx, orig, status, tasks.Items, "")
		}
	}
	// The new spec is taken into account only when it can be realised.
	next := status.DeepCopy()
	r.trackSpec(svc, next)
	in := objects.Inputs{
		Stack:        svc.Labels[translate.LabelStack],
		UpdateState:  update.State(next),
		JobIteration: next.JobIteration,
	}
	var err error
	if svc.Spec.Mode == swarmv1.ModeGlobalJob {
		if in.Nodes, err = r.globalJobNodes(ctx, svc); err != nil {
			return 0, err
		}
	}
	if translate.NeedsNodeLabels(&svc.Spec) {
		if in.NodeLabels, err = r.nodeLabels(ctx); err != nil {
			return 0, err
		}
	}
	if in.Running, err = r.running(ctx, svc); err != nil {
		return 0, err
	}
	if err := r.resolveFiles(ctx, svc, &in); errors.Is(err, errMissingObject) {
		// Wait for it, leaving whatever runs as it is; a ConfigMap's creation brings the
		// service back, a Secret is looked for again (Secrets are not watched).
		r.setDegraded(svc, status, ReasonMissingObject, conditionMessage(err)+"; nothing was changed")
		return missingRetry, r.observeWorkload(ctx, svc, status, tasks.Items, "")
	} else if err != nil {
		return 0, err
	}
	var imageNote string
	var imageRequeue time.Duration
	in.ImageHealthcheck, imageNote, imageRequeue = r.imageHealthcheck(ctx, svc, next)
	objs, err := objects.Build(svc, in, r.Options)
	if err != nil {
		// The spec cannot be realised: say so, and leave whatever runs as it is.
		r.setDegraded(svc, status, ReasonInvalidSpec, fmt.Sprintf("The spec cannot be applied, nothing was changed: %v", err))
		return 0, r.observeWorkload(ctx, svc, status, tasks.Items, "")
	}
	view := r.judgeUpdate(svc, next, tasks.Items, objs.TemplateHash)
	if in.ToleratedFailures = view.tolerated(next.DesiredTasks); in.ToleratedFailures > 0 {
		// The rollout steps past the failed tasks: the same objects with a wider budget.
		if objs, err = objects.Build(svc, in, r.Options); err != nil {
			return 0, err
		}
	}
	if err := r.ensureVolumes(ctx, svc, in); errors.Is(err, errMissingObject) {
		r.setDegraded(svc, status, ReasonMissingObject, conditionMessage(err)+"; nothing was changed")
		return 0, r.observeWorkload(ctx, svc, status, tasks.Items, "")
	} else if err != nil {
		return 0, r.applyFailed(svc, status, err)
	}
	*status = *next
	if err := r.removeOtherWorkloads(ctx, svc, objs.WorkloadKind()); err != nil {
		return 0, r.applyFailed(svc, status, fmt.Errorf("removing the previous workload: %w", err))
	}
	key := client.ObjectKeyFromObject(svc)
	switch {
	case objs.DaemonSet != nil:
		err = applyIfChanged(ctx, &r.childApplier, svc, key, &appsv1.DaemonSet{}, objs.DaemonSet, appsv1ac.ExtractDaemonSet)
	case objs.Deployment != nil:
		err = applyIfChanged(ctx, &r.childApplier, svc, key, &appsv1.Deployment{}, objs.Deployment, appsv1ac.ExtractDeployment)
	case objs.StatefulSet != nil:
		var replaced bool
		if replaced, err = r.replaceStatefulSet(ctx, svc, objs.StatefulSet); err == nil && replaced {
			// Its deletion brings the service back to make the new one.
			return 0, r.observeWorkload(ctx, svc, status, tasks.Items, objs.TemplateHash)
		} else if err == nil {
			err = applyIfChanged(ctx, &r.childApplier, svc, key, &appsv1.StatefulSet{}, objs.StatefulSet, extractStatefulSet(objs.StatefulSet))
		}
	default:
		err = r.applyJobs(ctx, svc, objs.Jobs)
	}
	if err != nil {
		return 0, r.applyFailed(svc, status, err)
	}
	live, err := r.applyService(ctx, svc, objs.Service)
	if err != nil {
		return 0, r.applyFailed(svc, status, err)
	}
	routeNotes, err := r.applyRoutes(ctx, svc, status)
	if err != nil {
		return 0, r.applyFailed(svc, status, err)
	}
	if err := r.applyAliases(ctx, svc, objs.Aliases); err != nil {
		return 0, r.applyFailed(svc, status, err)
	}
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: swarmv1.ConditionDegraded, Status: metav1.ConditionFalse,
		Reason: swarmv1.ReasonAsRequested, Message: "Every object of the service is applied", ObservedGeneration: svc.Generation})
	notes := append(objs.Notes, routeNotes...)
	if imageNote != "" {
		notes = append(notes, imageNote)
	}
	r.setHonored(svc, status, notes)
	status.Ports = translate.PublishedPorts(&svc.Spec, live)
	status.PortsSummary = translate.PortsSummary(status.Ports)
	status.Workload = &swarmv1.WorkloadReference{Kind: objs.WorkloadKind(), Name: svc.Name}
	status.ObservedGeneration = svc.Generation
	var held time.Duration
	if objs.Deployment != nil || objs.StatefulSet != nil {
		if held, err = r.admitTasks(ctx, svc, update.State(status), tasks.Items); err != nil {
			return 0, err
		}
	}
	if err := r.observeWorkload(ctx, svc, status, tasks.Items, objs.TemplateHash); err != nil {
		return 0, err
	}
	wait, err := r.watchUpdate(ctx, orig, status, view, status.DesiredTasks)
	for _, d := range []time.Duration{held, imageRequeue} {
		if d > 0 && (wait == 0 || d < wait) {
			wait = d
		}
	}
	return wait, err
}

// running reads what the service's workload runs now (objects.Running), for Build to keep what
// the operator rather than the service put in its template: none for a workload not made yet,
// or of another kind (the service's mode changed).
func (r *ServiceReconciler) running(ctx context.Context, svc *swarmv1.Service) (objects.Running, error) {
	key := client.ObjectKeyFromObject(svc)
	var tmpl *corev1.PodTemplateSpec
	switch svc.Spec.Mode {
	case swarmv1.ModeGlobal:
		ds := &appsv1.DaemonSet{}
		if err := r.Get(ctx, key, ds); client.IgnoreNotFound(err) != nil {
			return objects.Running{}, fmt.Errorf("reading DaemonSet %s: %w", key.Name, err)
		} else if err == nil && metav1.IsControlledBy(ds, svc) {
			tmpl = &ds.Spec.Template
		}
	case swarmv1.ModeReplicatedJob, swarmv1.ModeGlobalJob:
		jobs, err := r.ownedJobs(ctx, svc)
		if err != nil {
			return objects.Running{}, err
		}
		// The Jobs of one run share their template but for the node a global job's is pinned
		// to: the first that installs files says which image they run.
		slices.SortFunc(jobs, func(a, b batchv1.Job) int { return strings.Compare(a.Name, b.Name) })
		for i := range jobs {
			if run := objects.RunningOf(&jobs[i].Spec.Template); jobs[i].DeletionTimestamp.IsZero() && run.FilesImage != "" {
				return run, nil
			}
		}
	default:
		if translate.PerSlot(svc) {
			sts := &appsv1.StatefulSet{}
			if err := r.Get(ctx, key, sts); client.IgnoreNotFound(err) != nil {
				return objects.Running{}, fmt.Errorf("reading StatefulSet %s: %w", key.Name, err)
			} else if err == nil && metav1.IsControlledBy(sts, svc) {
				tmpl = &sts.Spec.Template
			}
			break
		}
		d := &appsv1.Deployment{}
		if err := r.Get(ctx, key, d); client.IgnoreNotFound(err) != nil {
			return objects.Running{}, fmt.Errorf("reading Deployment %s: %w", key.Name, err)
		} else if err == nil && metav1.IsControlledBy(d, svc) {
			tmpl = &d.Spec.Template
		}
	}
	if tmpl == nil {
		return objects.Running{}, nil
	}
	return objects.RunningOf(tmpl), nil
}

// removeOtherWorkloads deletes the service's workload of another kind, left from before a mode
// change.
func (r *ServiceReconciler) removeOtherWorkloads(ctx context.Context, svc *swarmv1.Service, keep string) error {
	if keep != "Job" {
		jobs, err := r.ownedJobs(ctx, svc)
		if err != nil {
			return err
		}
		for i := range jobs {
			if err := r.Delete(ctx, &jobs[i], client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
	}
	key := client.ObjectKeyFromObject(svc)
	for _, obj := range []client.Object{&appsv1.Deployment{}, &appsv1.StatefulSet{}, &appsv1.DaemonSet{}} {
		if kindOf(obj) == keep {
			continue
		}
		if err := r.Get(ctx, key, obj); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		if !metav1.IsControlledBy(obj, svc) {
			continue
		}
		if err := r.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return err
		}
		why := fmt.Sprintf("the service's mode is now %s", svc.Spec.Mode)
		if keep == "StatefulSet" || kindOf(obj) == "StatefulSet" {
			why = "its tasks now have slots of their own (per-task volumes or {{.Task.Slot}})"
			if keep != "StatefulSet" {
				why = "its tasks no longer need slots of their own"
			}
		}
		r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "Deleted", "Delete", "Deleted %s %s: %s", kindOf(obj), key.Name, why)
	}
	return nil
}

// applyService applies the Kubernetes Service and returns it as written (its node ports). Turning
// a virtual-IP Service into a headless one or back needs a new object: clusterIP is immutable.
func (r *ServiceReconciler) applyService(ctx context.Context, svc *swarmv1.Service, desired *corev1ac.ServiceApplyConfiguration) (*corev1.Service, error) {
	key := client.ObjectKeyFromObject(svc)
	existing := &corev1.Service{}
	found, err := r.getOwned(ctx, svc, key, existing)
	if err != nil {
		return nil, err
	}
	wantHeadless := ptrString(desired.Spec.ClusterIP) == corev1.ClusterIPNone
	if found && (existing.Spec.ClusterIP == corev1.ClusterIPNone) != wantHeadless && existing.DeletionTimestamp.IsZero() {
		if err := r.Delete(ctx, existing); client.IgnoreNotFound(err) != nil {
			return nil, fmt.Errorf("replacing Service %s (headless changes): %w", key.Name, err)
		}
		r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "Deleted", "Delete", "Deleted Service %s to change its endpoint mode", key.Name)
		// The delete event brings the service back here to create the new one.
		return nil, nil
	}
	if err := applyIfChanged(ctx, &r.childApplier, svc, key, existing, desired, corev1ac.ExtractService); err != nil {
		if apierrors.IsInvalid(err) && strings.Contains(err.Error(), "port is already allocated") {
			return nil, r.portInUse(ctx, svc, desired, err)
		}
		return nil, err
	}
	return existing, nil
}

// releasePorts deletes the Kubernetes Service of a removed Service (being deleted, or gone),
// which holds its node ports, without waiting for the garbage collector: on a new cluster the
// collector may take a minute to notice the Service kind, and `docker service rm web` followed
// by a service publishing web's port works at once in Swarm.
func (r *ServiceReconciler) releasePorts(ctx context.Context, key client.ObjectKey) error {
	ks := &corev1.Service{}
	if err := r.Get(ctx, key, ks); err != nil {
		return client.IgnoreNotFound(err)
	}
	_, err := r.release(ctx, ks)
	return err
}

// release deletes ks when it belongs to a removed kubeswarm Service, and tells whether ks is
// on its way out (deleted now, or already being deleted).
func (r *ServiceReconciler) release(ctx context.Context, ks *corev1.Service) (bool, error) {
	if !ks.DeletionTimestamp.IsZero() {
		return true, nil
	}
	if removed, err := r.ownerRemoved(ctx, ks); err != nil || !removed {
		return false, err
	}
	uid := ks.UID
	if err := r.Delete(ctx, ks, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
		return false, fmt.Errorf("deleting Service %s of a removed service: %w", ks.Name, err)
	}
	ctrl.LoggerFrom(ctx).V(2).Info("Deleted the Kubernetes Service of a removed Service", "kubernetesService", klog.KObj(ks))
	return true, nil
}

// ownerRemoved tells whether a Kubernetes Service is controlled by a kubeswarm Service that is
// being deleted or gone. The owner is read from the API server: the cache may not have seen
// a Service of the same name made again.
func (r *ServiceReconciler) ownerRemoved(ctx context.Context, ks *corev1.Service) (bool, error) {
	owner := metav1.GetControllerOfNoCopy(ks)
	if owner == nil || !isServiceRef(*owner) {
		return false, nil
	}
	s := &swarmv1.Service{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ks.Namespace, Name: owner.Name}, s)
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("reading the owner of Service %s: %w", ks.Name, err)
	}
	return s.UID != owner.UID || !s.DeletionTimestamp.IsZero(), nil
}

// isServiceRef tells whether an owner reference names a kubeswarm Service.
func isServiceRef(ref metav1.OwnerReference) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == swarmv1.GroupVersion.Group && ref.Kind == "Service"
}

// portInUse names the Service that holds a node port this one wants, as Swarm refuses a second
// service publishing the same port.
func (r *ServiceReconciler) portInUse(ctx context.Context, svc *swarmv1.Service, desired *corev1ac.ServiceApplyConfiguration, applyErr error) error {
	all := &corev1.ServiceList{}
	if err := r.APIReader.List(ctx, all); err != nil {
		return kindError(errPortInUse, applyErr, "%v", applyErr)
	}
	for _, p := range desired.Spec.Ports {
		if p.NodePort == nil {
			continue
		}
		for _, other := range all.Items {
			if other.Namespace == svc.Namespace && other.Name == svc.Name {
				continue
			}
			for _, op := range other.Spec.Ports {
				if op.NodePort != *p.NodePort {
					continue
				}
				by := other.Namespace + "/" + other.Name
				if owner := metav1.GetControllerOf(&other); owner != nil && isServiceRef(*owner) {
					by = "service " + other.Namespace + "/" + owner.Name
				}
				// A removed service's port is free in Swarm: free it here too, and wait for
				// the deletion (its event brings this service back).
				if leaving, err := r.release(ctx, &other); err != nil {
					return err
				} else if leaving {
					return kindError(errPortInUse, nil, "port %d is being freed by the removed %s; it is taken as soon as that is done", *p.NodePort, by)
				}
				return kindError(errPortInUse, nil, "port %d is already in use by %s; publish another port, or remove that service", *p.NodePort, by)
			}
		}
	}
	return kindError(errPortInUse, applyErr, "%v", applyErr)
}

// observeWorkload reads the workload's state into the status: tasks running/desired (and
// completed, for jobs), why tasks are pending, Ready and Progressing. tasks are the service's
// pods; hash is the current task template ("" when the spec could not be built).
func (r *ServiceReconciler) observeWorkload(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus, tasks []corev1.Pod, hash string) error {
	var running, desired, completed, total int32
	progressing, failed, refused := false, "", ""
	var err error
	key := client.ObjectKeyFromObject(svc)
	switch svc.Spec.Mode {
	case swarmv1.ModeGlobal:
		ds := &appsv1.DaemonSet{}
		if err := r.Get(ctx, key, ds); client.IgnoreNotFound(err) != nil {
			return err
		} else if err == nil && metav1.IsControlledBy(ds, svc) {
			running, desired = ds.Status.NumberReady, ds.Status.DesiredNumberScheduled
			progressing = ds.Status.ObservedGeneration < ds.Generation || ds.Status.UpdatedNumberScheduled < desired
		} else {
			progressing = true
		}
	case swarmv1.ModeReplicatedJob, swarmv1.ModeGlobalJob:
		jobs, err := r.ownedJobs(ctx, svc)
		if err != nil {
			return err
		}
		running, completed, total, failed = jobProgress(jobs, status.JobIteration)
		desired = total - completed
		if svc.Spec.Mode == swarmv1.ModeReplicatedJob {
			// docker shows MaxConcurrent as the desired tasks of a replicated job.
			desired = ptr.Deref(svc.Spec.MaxConcurrent, ptr.Deref(svc.Spec.Replicas, 1))
		}
		progressing = failed == "" && (completed < total || len(jobs) == 0)
	default:
		if !translate.PerSlot(svc) {
			running, desired, progressing, refused, err = r.observeDeployment(ctx, svc)
			break
		}
		sts := &appsv1.StatefulSet{}
		if err := r.Get(ctx, key, sts); client.IgnoreNotFound(err) != nil {
			return err
		} else if err == nil && metav1.IsControlledBy(sts, svc) {
			running, desired = sts.Status.ReadyReplicas, ptr.Deref(sts.Spec.Replicas, 1)
			progressing = sts.Status.ObservedGeneration < sts.Generation || sts.Status.UpdatedReplicas < desired || sts.Status.Replicas > desired
		} else {
			progressing = true
		}
	}
	if err != nil {
		return err
	}
	status.RunningTasks, status.DesiredTasks, status.CompletedTasks = running, desired, completed
	if svc.Spec.Mode.IsJob() {
		status.Replicas = translate.JobReplicasSummary(running, desired, completed, total)
	} else {
		status.Replicas = translate.ReplicasSummary(&svc.Spec, running, desired)
	}

	ready := metav1.Condition{Type: swarmv1.ConditionReady, Status: metav1.ConditionFalse, Reason: swarmv1.ReasonTasksPending,
		Message: fmt.Sprintf("%d of %d tasks running", running, desired), ObservedGeneration: svc.Generation}
	pending, stopped := waitingTasks(svc, tasks, hash)
	if pending != "" {
		ready.Message += "; " + pending
	}
	if stopped > 0 {
		// Swarm's service shows them missing (0/1) and makes no new ones until it is updated.
		ready.Message += fmt.Sprintf("; %d ended and stay stopped (restart condition %s) until the service is updated", stopped, svc.Spec.RestartPolicy.RestartOn())
	}
	switch {
	case failed != "":
		ready.Reason, ready.Message = ReasonJobFailed, failed
	case refused != "":
		ready.Reason, ready.Message = ReasonTasksRefused, ready.Message+"; the tasks cannot be created: "+refused
	case svc.Spec.Mode.IsJob() && total > 0 && completed >= total:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionTrue, ReasonJobComplete, fmt.Sprintf("%d of %d tasks completed", completed, total)
	case !svc.Spec.Mode.IsJob() && running+stopped >= desired && !progressing && status.ObservedGeneration == svc.Generation:
		ready.Status, ready.Reason = metav1.ConditionTrue, swarmv1.ReasonConverged
	}
	meta.SetStatusCondition(&status.Conditions, ready)

	prog := metav1.Condition{Type: swarmv1.ConditionProgressing, Status: metav1.ConditionFalse, Reason: swarmv1.ReasonConverged,
		Message: "Every task runs the current spec", ObservedGeneration: svc.Generation}
	switch state := update.State(status); {
	case update.Paused(state):
		prog.Reason, prog.Message = ReasonUpdatePaused, status.UpdateStatus.Message
	case progressing:
		prog.Status, prog.Reason, prog.Message = metav1.ConditionTrue, swarmv1.ReasonUpdating, "Tasks are being created or updated"
	}
	meta.SetStatusCondition(&status.Conditions, prog)
	return nil
}

// waitingTasks says why tasks wait for a node, from the scheduler's word on the first one
// (a constraint no node meets is not an error: Swarm leaves such tasks pending too), and how
// many tasks of a long-running service's template hash ended and stay stopped
// (update.StaysStopped; those of an earlier template were replaced by the update).
func waitingTasks(svc *swarmv1.Service, tasks []corev1.Pod, hash string) (pending string, stopped int32) {
	n, why := 0, ""
	cond := svc.Spec.RestartPolicy.RestartOn()
	current := func(p *corev1.Pod) bool { return hash == "" || p.Labels[translate.LabelTemplateHash] == hash }
	for _, p := range tasks {
		if svc.Spec.Mode.IsReplicated() && p.DeletionTimestamp == nil && current(&p) && update.StaysStopped(&p, cond) {
			stopped++
		}
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodPending {
			continue
		}
		if m := update.WaitingMessage(&p); m != "" || update.Held(&p) {
			// Held tasks wait their turn (update.Admit); only Swarm's scheduler's reasons show.
			if m != "" {
				n++
				if why == "" {
					why = m
				}
			}
			continue
		}
		if msg, ok := update.NoNodeMessage(&p); ok {
			n++
			if why == "" {
				why = msg
			}
		}
	}
	if n == 0 {
		return "", stopped
	}
	return fmt.Sprintf("%d pending: no suitable node (%s)", n, strings.TrimSpace(why)), stopped
}

func (r *ServiceReconciler) applyFailed(svc *swarmv1.Service, status *swarmv1.ServiceStatus, err error) error {
	if namespaceTerminating(err) {
		return err
	}
	reason := swarmv1.ReasonApplyFailed
	switch {
	case errors.Is(err, errNameConflict):
		reason = swarmv1.ReasonNameConflict
	case errors.Is(err, errPortInUse):
		reason = ReasonPortInUse
	}
	r.setDegraded(svc, status, reason, conditionMessage(err))
	return err
}

// setDegraded sets Degraded=True and sends a Warning event when the condition changes.
func (r *ServiceReconciler) setDegraded(svc *swarmv1.Service, status *swarmv1.ServiceStatus, reason, msg string) {
	cond := metav1.Condition{Type: swarmv1.ConditionDegraded, Status: metav1.ConditionTrue, Reason: reason, Message: msg, ObservedGeneration: svc.Generation}
	if old := meta.FindStatusCondition(status.Conditions, cond.Type); old == nil || old.Status != cond.Status || old.Reason != reason || old.Message != msg {
		r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", msg)
	}
	meta.SetStatusCondition(&status.Conditions, cond)
}

// setHonored reports what Kubernetes only approximates, with a Warning event when that changes.
func (r *ServiceReconciler) setHonored(svc *swarmv1.Service, status *swarmv1.ServiceStatus, notes []string) {
	cond := metav1.Condition{Type: ConditionHonored, Status: metav1.ConditionTrue, Reason: ReasonAllHonored,
		Message: "Every option of the spec is realised as asked", ObservedGeneration: svc.Generation}
	if len(notes) > 0 {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, ReasonApproximated, strings.Join(notes, "; ")
		if old := meta.FindStatusCondition(status.Conditions, cond.Type); old == nil || old.Message != cond.Message {
			r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonApproximated, "Reconcile", "%s", cond.Message)
		}
	}
	meta.SetStatusCondition(&status.Conditions, cond)
}

// updateStatus writes the status only when it changed. The status records the update's
// bookkeeping (applied and previous spec, update state), which must never be computed from a
// stale read: the patch carries the resourceVersion read, so a stale pass gets a conflict.
func (r *ServiceReconciler) updateStatus(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus) error {
	if equality.Semantic.DeepEqual(&svc.Status, status) {
		return nil
	}
	base := svc.DeepCopy()
	svc.Status = *status
	if err := r.Status().Patch(ctx, svc, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("updating the status: %w", err)
	}
	r.stale.wrote(svc, base.ResourceVersion)
	return nil
}

func kindOf(obj client.Object) string {
	t := fmt.Sprintf("%T", obj)
	return t[strings.LastIndex(t, ".")+1:]
}

func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Indexes of Services: by mode, to find the global-job services when nodes change; by the
// ConfigMaps they mount, to notice one that was missing being created (a missing Secret is
// looked for again after missingRetry: Secrets are not watched).
const (
	indexMode    = "spec.mode"
	indexConfigs = "spec.configs.source"
	// indexVolumes: the sources of a service's named volumes (the claims of their names).
	indexVolumes = "spec.mounts.source"
	// indexNodeLabels: "true" for services placed by node.labels or engine.labels constraints.
	indexNodeLabels = "spec.placement.nodeLabels"
)

func fileSources(refs []swarmv1.FileReference) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.Source)
	}
	return out
}

// servicesUsing maps a ConfigMap or a claim to the services of its namespace that mount it.
func (r *ServiceReconciler) servicesUsing(index string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		list := &swarmv1.ServiceList{}
		if err := r.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{index: o.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing Services by mounted object", "index", index)
			return nil
		}
		return requestsFor(list.Items, func(*swarmv1.Service) bool { return true })
	}
}

// SetupWithManager registers the controller: it watches Services, the objects they own, their
// tasks, the nodes (for global jobs, and for the spellings of node.labels constraints' values)
// and the deletions of Kubernetes Services that held node ports.
func (r *ServiceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	indexes := map[string]client.IndexerFunc{
		indexMode: func(o client.Object) []string { return []string{string(o.(*swarmv1.Service).Spec.Mode)} },
		indexConfigs: func(o client.Object) []string {
			return fileSources(o.(*swarmv1.Service).Spec.Configs)
		},
		indexVolumes: func(o client.Object) []string {
			var out []string
			for _, m := range o.(*swarmv1.Service).Spec.Mounts {
				if m.Type != swarmv1.MountBind && m.Type != swarmv1.MountTmpfs && m.Source != "" {
					out = append(out, m.Source)
				}
			}
			return out
		},
		indexNodeLabels: func(o client.Object) []string {
			return []string{strconv.FormatBool(translate.NeedsNodeLabels(&o.(*swarmv1.Service).Spec))}
		},
	}
	for field, f := range indexes {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), &swarmv1.Service{}, field, f); err != nil {
			return fmt.Errorf("indexing Services by %s: %w", field, err)
		}
	}
	return r.watchRoutes(ctrl.NewControllerManagedBy(mgr)).
		For(&swarmv1.Service{}).
		Owns(&appsv1.Deployment{}).
		Owns(&appsv1.StatefulSet{}).
		Owns(&appsv1.DaemonSet{}).
		Owns(&batchv1.Job{}).
		Owns(&corev1.Service{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(serviceOfTask)).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.servicesUsing(indexConfigs)), builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		// A claim made or deleted under a volume's name decides whether the volume keeps that one
		// claim or is per slot (translate.Claims.KeepsClaim).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(r.servicesUsing(indexVolumes)), builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
		}})).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.servicesWith(indexMode, string(swarmv1.ModeGlobalJob), "global-job Services")), builder.WithPredicates(nodeEligibilityChanged())).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.servicesWith(indexNodeLabels, "true", "Services placed by node labels")), builder.WithPredicates(nodeLabelsChanged())).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.servicesWaitingForPorts), builder.WithPredicates(nodePortsFreed())).
		Named("service").
		Complete(r)
}

// serviceOfTask maps a task (pod) to its service, so that crashes and scheduling failures are
// seen at once.
func serviceOfTask(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[translate.LabelService]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}

// servicesWith maps an event to the services whose index field holds value (what names
// the services to look at again).
func (r *ServiceReconciler) servicesWith(index, value, what string) handler.MapFunc {
	return func(ctx context.Context, _ client.Object) []reconcile.Request {
		list := &swarmv1.ServiceList{}
		if err := r.List(ctx, list, client.MatchingFields{index: value}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing "+what)
			return nil
		}
		return requestsFor(list.Items, func(*swarmv1.Service) bool { return true })
	}
}

// requestsFor are the reconcile requests of the services that keep says to.
func requestsFor(services []swarmv1.Service, keep func(*swarmv1.Service) bool) []reconcile.Request {
	var out []reconcile.Request
	for i := range services {
		if keep(&services[i]) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&services[i])})
		}
	}
	return out
}

// nodeLabels are the labels of the cluster's nodes, read from the cache without copies.
func (r *ServiceReconciler) nodeLabels(ctx context.Context) ([]map[string]string, error) {
	list := &corev1.NodeList{}
	if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the nodes: %w", err)
	}
	out := make([]map[string]string, len(list.Items))
	for i := range list.Items {
		out[i] = list.Items[i].Labels
	}
	return out, nil
}

// nodeLabelsChanged lets through new nodes, deleted ones and changes of a node's labels.
func nodeLabelsChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !equality.Semantic.DeepEqual(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// servicesWaitingForPorts are the services refused a published port (Degraded, PortInUse):
// a Kubernetes Service that held node ports is gone, so they try again at once.
func (r *ServiceReconciler) servicesWaitingForPorts(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &swarmv1.ServiceList{}
	if err := r.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing Services waiting for a port")
		return nil
	}
	return requestsFor(list.Items, func(s *swarmv1.Service) bool {
		c := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionDegraded)
		return c != nil && c.Reason == ReasonPortInUse
	})
}

// nodePortsFreed lets through the deletions of Kubernetes Services that held node ports.
func nodePortsFreed() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		DeleteFunc: func(e event.DeleteEvent) bool {
			ks, ok := e.Object.(*corev1.Service)
			return ok && slices.ContainsFunc(ks.Spec.Ports, func(p corev1.ServicePort) bool { return p.NodePort != 0 })
		},
	}
}

// nodeEligibilityChanged lets through only node changes that can change where tasks may run
// (not the heartbeats that update nodes every few seconds).
func nodeEligibilityChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			a, b := e.ObjectOld.(*corev1.Node), e.ObjectNew.(*corev1.Node)
			return !equality.Semantic.DeepEqual(a.Labels, b.Labels) || !equality.Semantic.DeepEqual(a.Spec.Taints, b.Spec.Taints) ||
				a.Spec.Unschedulable != b.Spec.Unschedulable || nodes.Ready(a) != nodes.Ready(b)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// observeDeployment reads a replicated service's Deployment: tasks ready and desired, whether a
// rollout is under way, and why its pods cannot be created.
func (r *ServiceReconciler) observeDeployment(ctx context.Context, svc *swarmv1.Service) (running, desired int32, progressing bool, refused string, _ error) {
	d := &appsv1.Deployment{}
	err := r.Get(ctx, client.ObjectKeyFromObject(svc), d)
	if apierrors.IsNotFound(err) {
		return 0, 0, true, "", nil // not made yet
	} else if err != nil {
		return 0, 0, false, "", err
	}
	if !metav1.IsControlledBy(d, svc) {
		return 0, 0, true, "", nil
	}
	desired = ptr.Deref(d.Spec.Replicas, 1)
	progressing = d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < desired || d.Status.Replicas > desired
	return d.Status.ReadyReplicas, desired, progressing, tasksRefused(d), nil
}

// extractStatefulSet reads the fields kubeswarm owns in a live StatefulSet, for applyIfChanged.
// Its claim templates are an atomic list, so the extract holds them whole, with what the API
// server filled in (volumeMode, status): when they are the desired ones as far as kubeswarm sets
// them (objects.SameClaimTemplates), the desired ones stand in for them.
func extractStatefulSet(desired *appsv1ac.StatefulSetApplyConfiguration) func(*appsv1.StatefulSet, string) (*appsv1ac.StatefulSetApplyConfiguration, error) {
	return func(live *appsv1.StatefulSet, manager string) (*appsv1ac.StatefulSetApplyConfiguration, error) {
		out, err := appsv1ac.ExtractStatefulSet(live, manager)
		if err != nil || out.Spec == nil || desired.Spec == nil {
			return out, err
		}
		want := &appsv1.StatefulSet{}
		if err := convert(desired, want); err != nil {
			return nil, err
		}
		if objects.SameClaimTemplates(live.Spec.VolumeClaimTemplates, want.Spec.VolumeClaimTemplates) {
			out.Spec.VolumeClaimTemplates = desired.Spec.VolumeClaimTemplates
		}
		return out, nil
	}
}

// replaceStatefulSet deletes the service's StatefulSet when desired changes what a StatefulSet
// cannot change (its claim templates: a volume added, removed or resized, its pod management),
// and tells whether it did. Its claims stay (Retain): the new StatefulSet's slots mount them again.
func (r *ServiceReconciler) replaceStatefulSet(ctx context.Context, svc *swarmv1.Service, desired *appsv1ac.StatefulSetApplyConfiguration) (bool, error) {
	live := &appsv1.StatefulSet{}
	found, err := r.getOwned(ctx, svc, client.ObjectKeyFromObject(svc), live)
	if err != nil || !found || !live.DeletionTimestamp.IsZero() {
		return !live.DeletionTimestamp.IsZero() && found, err
	}
	want := &appsv1.StatefulSet{}
	if err := convert(desired, want); err != nil {
		return false, fmt.Errorf("reading the StatefulSet %s: %w", svc.Name, err)
	}
	if objects.SameClaimTemplates(live.Spec.VolumeClaimTemplates, want.Spec.VolumeClaimTemplates) && live.Spec.PodManagementPolicy == want.Spec.PodManagementPolicy {
		return false, nil
	}
	if err := r.Delete(ctx, live, client.Preconditions{UID: &live.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return false, fmt.Errorf("replacing StatefulSet %s (its volumes changed): %w", svc.Name, err)
	}
	r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "Deleted", "Delete", "Deleted StatefulSet %s to change its volumes; the claims of its slots are kept", svc.Name)
	return true, nil
}
