#!/usr/bin/env bash
# Runs the operator (bin/manager) in the background against the local cluster.
#   hack/operator.sh start   start it (restart when bin/manager is newer than the running one)
#   hack/operator.sh stop    stop it
#   hack/operator.sh status  tell whether it runs
#   hack/operator.sh logs    follow its log
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER=${KUBESWARM_CLUSTER:-kubeswarm}
RUN_DIR=${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}/run/$CLUSTER
PID_FILE=$RUN_DIR/manager.pid
LOG_FILE=$RUN_DIR/manager.log
BIN=${MANAGER_BIN:-bin/manager}
mkdir -p "$RUN_DIR"

running() { [[ -f $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

stop() {
  if running; then
    local pid; pid=$(cat "$PID_FILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    echo "operator stopped" >&2
  fi
  rm -f "$PID_FILE"
}

start() {
  [[ -x $BIN ]] || { echo "$BIN is missing: run make build" >&2; exit 1; }
  if running && [[ $BIN -ot $PID_FILE ]]; then
    echo "operator already running (pid $(cat "$PID_FILE")), log: $LOG_FILE" >&2
    return
  fi
  stop
  local kubeconfig; kubeconfig=$(hack/local-cluster.sh kubeconfig)
  # The local cluster accepts node ports 1-32767, so published ports like 8000 are node ports.
  KUBECONFIG=$kubeconfig setsid nohup "$BIN" --node-port-range=1-32767 --health-probe-bind-address=0 \
    "$@" >"$LOG_FILE" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  sleep 1
  running || { echo "operator failed to start:" >&2; tail -20 "$LOG_FILE" >&2; exit 1; }
  echo "operator running (pid $(cat "$PID_FILE")), log: $LOG_FILE" >&2
}

case ${1:-} in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) if running; then echo "running (pid $(cat "$PID_FILE"))"; else echo "stopped"; exit 1; fi ;;
  logs) tail -f "$LOG_FILE" ;;
  *) echo "usage: $0 start|stop|status|logs" >&2; exit 2 ;;
esac
