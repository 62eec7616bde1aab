#!/usr/bin/env bash
# Start / stop the private daemons the conformance tests run against.
#
#   scripts/daemons.sh start [dockerd|podman|all]   start (or reuse), import busybox:latest, print env lines
#   scripts/daemons.sh stop  [dockerd|podman|all]   remove all containers, stop the daemon
#   scripts/daemons.sh env   [dockerd|podman|all]   print the env lines of running daemons
#   scripts/daemons.sh check [dockerd|podman|all]   `docker run busybox echo hi` against each (smoke test)
#   scripts/daemons.sh clean                        stop all, then delete the state dir
#
# `eval "$(scripts/daemons.sh start all)"` sets
#   CONFORMANCE_DOCKERD=unix://$STATE/dockerd/docker.sock
#   CONFORMANCE_PODMAN=unix://$STATE/podman/podman.sock
# Progress and errors go to stderr; only `export ...` lines go to stdout.
#
# Environment:
#   CONFORMANCE_STATE_DIR  state dir (default /tmp/conformance-ci); keep it short: socket paths
#                          under it must stay below 108 bytes
#   DOCKER_CLI             docker CLI to use (default: `docker` on PATH)
#   START_TIMEOUT          seconds to wait for /_ping (default 60)
#
# Needs root, dockerd (docker.io), podman, runc, curl and a static /bin/busybox (busybox-static).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="${CONFORMANCE_STATE_DIR:-/tmp/conformance-ci}"
DOCKER_CLI="${DOCKER_CLI:-docker}"
START_TIMEOUT="${START_TIMEOUT:-60}"
IMAGE="busybox:latest"

log() { echo "daemons.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

dsock() { echo "$STATE/dockerd/docker.sock"; }
psock() { echo "$STATE/podman/podman.sock"; }

# The management calls below use a modern API version; the tests choose their own.
cli() { local sock="$1"; shift; DOCKER_API_VERSION=1.41 "$DOCKER_CLI" -H "unix://$sock" "$@"; }

ping_ok() { curl -fsS --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1; }

# pid from FILE if that process is alive and its command line mentions SOCK (guards against pid reuse)
live_pid() {
  local file="$1" sock="$2" pid
  [[ -s "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$sock" || return 1
  echo "$pid"
}

wait_ping() {
  local sock="$1" pid="$2" logf="$3" i
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    ping_ok "$sock" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      log "daemon (pid $pid) exited; last lines of $logf:"
      tail -n 30 "$logf" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  log "no answer on $sock after ${START_TIMEOUT}s; last lines of $logf:"
  tail -n 30 "$logf" >&2 || true
  return 1
}

rootfs() {
  local tar="$STATE/busybox-rootfs.tar"
  if [[ ! -s "$tar" ]]; then
    mkdir -p "$STATE"
    PYTHONPATH="$HERE/.." python3 -m conformance.busybox "$tar" /bin/busybox
  fi
  echo "$tar"
}

ensure_image() {
  local sock="$1"
  if curl -fsS --max-time 10 --unix-socket "$sock" "http://d/images/$IMAGE/json" >/dev/null 2>&1; then
    return 0
  fi
  cli "$sock" import "$(rootfs)" "$IMAGE" >/dev/null
  curl -fsS --max-time 10 --unix-socket "$sock" "http://d/images/$IMAGE/json" >/dev/null \
    || die "image $IMAGE missing after import on $sock"
}

need_root_tools() {
  [[ "$(id -u)" == 0 ]] || die "must run as root"
  local t
  for t in "$@" curl python3 "$DOCKER_CLI"; do
    command -v "$t" >/dev/null || die "$t not found (run scripts/setup.sh)"
  done
  [[ -x /bin/busybox ]] || die "/bin/busybox not found (apt-get install busybox-static)"
}

start_dockerd() {
  need_root_tools dockerd
  local d="$STATE/dockerd" sock pid
  sock="$(dsock)"
  mkdir -p "$d"
  if pid="$(live_pid "$d/dockerd.pid" "$sock")" && ping_ok "$sock"; then
    log "dockerd already running (pid $pid)"
  else
    if [[ -n "${pid:-}" ]]; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$sock" "$d/dockerd.pid"
    local t0=$SECONDS
    setsid dockerd --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
      --storage-driver=vfs -H "unix://$sock" --data-root "$d/data" --exec-root "$d/exec" \
      --pidfile "$d/dockerd.pid" </dev/null >>"$d/dockerd.log" 2>&1 &
    pid=$!
    echo "$pid" >"$d/launcher.pid"
    wait_ping "$sock" "$pid" "$d/dockerd.log" || die "dockerd did not start"
    log "dockerd up (pid $pid) in $((SECONDS - t0))s, log $d/dockerd.log"
  fi
  ensure_image "$sock"
}

write_containers_conf() {
  cat >"$1" <<'EOF'
# written by scripts/daemons.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
}

podman_cmd() {
  local d="$STATE/podman"
  echo podman --storage-driver=vfs --root "$d/root" --runroot "$d/runroot" --tmpdir "$d/tmp"
}

start_podman() {
  need_root_tools podman runc
  local d="$STATE/podman" sock pid
  sock="$(psock)"
  mkdir -p "$d/tmp"
  write_containers_conf "$d/containers.conf"
  if pid="$(live_pid "$d/podman.pid" "$sock")" && ping_ok "$sock"; then
    log "podman service already running (pid $pid)"
  else
    if [[ -n "${pid:-}" ]]; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$sock" "$d/podman.pid"
    local t0=$SECONDS
    # shellcheck disable=SC2046
    CONTAINERS_CONF="$d/containers.conf" setsid $(podman_cmd) system service --time=0 "unix://$sock" \
      </dev/null >>"$d/podman.log" 2>&1 &
    pid=$!
    echo "$pid" >"$d/podman.pid"
    wait_ping "$sock" "$pid" "$d/podman.log" || die "podman service did not start"
    log "podman service up (pid $pid) in $((SECONDS - t0))s, log $d/podman.log"
  fi
  ensure_image "$sock"
}

rm_all_containers() {
  local sock="$1" ids
  ping_ok "$sock" || return 0
  ids="$(cli "$sock" ps -aq 2>/dev/null || true)"
  if [[ -n "$ids" ]]; then
    # shellcheck disable=SC2086
    timeout -s KILL 60 env DOCKER_API_VERSION=1.41 "$DOCKER_CLI" -H "unix://$sock" rm -f $ids >/dev/null 2>&1 || true
  fi
}

stop_pid() {
  local pid="$1" name="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || { log "$name stopped"; return 0; }
    sleep 0.1
  done
  log "$name (pid $pid) still running after 30s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

stop_dockerd() {
  local d="$STATE/dockerd" sock pid
  sock="$(dsock)"
  rm_all_containers "$sock"
  if pid="$(live_pid "$d/dockerd.pid" "$sock")"; then
    stop_pid "$pid" dockerd
  elif pid="$(live_pid "$d/launcher.pid" "$sock")"; then
    stop_pid "$pid" dockerd
  fi
  rm -f "$d/launcher.pid"
}

stop_podman() {
  local d="$STATE/podman" sock pid
  sock="$(psock)"
  rm_all_containers "$sock"
  if pid="$(live_pid "$d/podman.pid" "$sock")"; then
    stop_pid "$pid" "podman service"
  fi
  rm -f "$d/podman.pid" "$sock"
}

print_env() {
  local which="$1"
  if [[ "$which" == dockerd || "$which" == all ]]; then
    if ping_ok "$(dsock)"; then echo "export CONFORMANCE_DOCKERD=unix://$(dsock)"; fi
  fi
  if [[ "$which" == podman || "$which" == all ]]; then
    if ping_ok "$(psock)"; then echo "export CONFORMANCE_PODMAN=unix://$(psock)"; fi
  fi
  return 0
}

check_one() {
  local sock="$1" name="$2" out
  # v1.14 client: no --rm (against podman 4.3 the CLI's pre-1.25 --rm waits for a `destroy`
  # event that podman never sends: it says `remove`), so run, then rm.
  local cname="smoke-$$-$RANDOM"
  out="$(DOCKER_API_VERSION=1.14 timeout -s KILL 60 "$DOCKER_CLI" -H "unix://$sock" \
    run --name "$cname" --network none "$IMAGE" echo hi)" || { log "$name: docker run failed"; return 1; }
  cli "$sock" rm -f "$cname" >/dev/null
  [[ "$out" == hi ]] || { log "$name: expected 'hi', got '$out'"; return 1; }
  log "$name: docker run busybox echo hi OK"
}

umount_under() {
  local dir="$1" m
  # deepest first
  { awk '{print $2}' /proc/mounts | grep -F -- "$dir/" || true; } | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

cmd="${1:-}"
which="${2:-all}"
case "$which" in dockerd | podman | all) ;; *) die "unknown daemon '$which' (dockerd|podman|all)" ;; esac

case "$cmd" in
  start)
    if [[ "$which" == dockerd || "$which" == all ]]; then start_dockerd; fi
    if [[ "$which" == podman || "$which" == all ]]; then start_podman; fi
    print_env "$which"
    ;;
  stop)
    if [[ "$which" == dockerd || "$which" == all ]]; then stop_dockerd; fi
    if [[ "$which" == podman || "$which" == all ]]; then stop_podman; fi
    ;;
  env) print_env "$which" ;;
  check)
    rc=0
    if [[ "$which" == dockerd || "$which" == all ]]; then check_one "$(dsock)" dockerd || rc=1; fi
    if [[ "$which" == podman || "$which" == all ]]; then check_one "$(psock)" podman || rc=1; fi
    exit "$rc"
    ;;
  clean)
    stop_dockerd
    stop_podman
    umount_under "$STATE"
    rm -rf "$STATE"
    log "removed $STATE"
    ;;
  *)
    sed -n '2,20p' "$0" >&2
    exit 2
    ;;
esac
