#!/usr/bin/env bash
# The seed's first service on the local cluster:
#   docker service create -d --name nginx --replicas 3 --publish 8000:80 nginx
# Expects the cluster up and the CRDs installed (make demo does both), starts the operator,
# creates the Service and shows where its tasks run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(hack/k8s-binaries.sh)
export KUBECONFIG=${KUBECONFIG_DEMO:-$(hack/local-cluster.sh kubeconfig)}
kubectl() { "$BIN/kubectl" "$@"; }

# The operator plays the replica on manager1, so that node ls shows manager1 as the Leader.
hack/operator.sh start --node-name=manager1
echo "+ kubectl apply -f config/samples/swarm_v1alpha1_service.yaml   # docker service create -d --name nginx --replicas 3 --publish 8000:80 nginx"
kubectl apply -n default -f config/samples/swarm_v1alpha1_service.yaml
kubectl wait -n default --for=condition=Ready service.swarm.kubeswarm.io/nginx --timeout=120s >/dev/null
echo
echo "+ kubectl get ssvc      # docker service ls"
kubectl get -n default ssvc
echo
echo "+ kubectl get pods -o wide -l swarm.kubeswarm.io/service=nginx      # docker service ps nginx"
kubectl get -n default pods -o wide -l swarm.kubeswarm.io/service=nginx
echo
echo "+ kubectl get service nginx      # the routing mesh: a NodePort Service"
kubectl get -n default service nginx
echo
nodes=$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{end}')
echo "nginx runs 3 tasks; port 8000 is published on every node (${nodes% }) as NodePort 8000."
if [[ ${KUBESWARM_REAL:-} == 1 ]]; then
  ips=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.addresses[?(@.type=="InternalIP")].address}{" "}{end}')
  echo "The nodes are real: curl http://IP:8000/ answers on each of ${ips% } (from tasks on every node)."
fi
echo "The operator keeps running in the background: hack/operator.sh logs | stop. Remove the demo: kubectl delete ssvc nginx; make cluster-down."
