#!/usr/bin/env bash
# Regenerate reports/examples/replay/: a docker CLI session recorded through `conformance proxy`
# against dockerd, then `conformance replay send` of that capture to the reference daemon and to
# dockerd itself. Needs a dockerd with busybox:latest (scripts/daemons.sh start dockerd) and the
# docker CLI; CONFORMANCE_DOCKERD names its socket (default: what daemons.sh starts).
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKERD="${CONFORMANCE_DOCKERD:-unix:///tmp/conformance-ci/dockerd/docker.sock}"
OUT=reports/examples/replay
WORK="$(mktemp -d /tmp/cft-replay-XXXXXX)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

mkdir -p "$OUT" "$WORK/config"
.venv/bin/conformance proxy --listen "unix://$WORK/p.sock" --daemon "$DOCKERD" --record "$WORK/session.mitm" \
    --quiet >"$WORK/proxy.out" 2>&1 &
proxy=$!
for _ in $(seq 50); do [ -S "$WORK/p.sock" ] && break; sleep 0.1; done
docker() { HOME="$WORK/config" DOCKER_CONFIG="$WORK/config" DOCKER_HOST="unix://$WORK/p.sock" \
           DOCKER_API_VERSION=1.14 command docker "$@"; }
name="replay-example-$$"
docker version >/dev/null
docker create --name "$name" --network none busybox sh -c 'echo out; echo err >&2' >/dev/null
docker start "$name" >/dev/null
docker wait "$name" >/dev/null
docker logs "$name" >/dev/null 2>&1
docker inspect "$name" >/dev/null
echo "via stdin" | docker run -i --rm --network none busybox cat >/dev/null
docker rm "$name" >/dev/null
docker images >/dev/null
kill -INT "$proxy"; wait "$proxy" || true
cp "$WORK/session.mitm" "$OUT/session.mitm"

.venv/bin/conformance serve --listen "unix://$WORK/ref.sock" --seed-busybox >/dev/null 2>&1 &
for _ in $(seq 50); do [ -S "$WORK/ref.sock" ] && break; sleep 0.1; done
.venv/bin/conformance replay send "$OUT/session.mitm" --daemon "unix://$WORK/ref.sock" \
    --report "$OUT/to-reference" --fail-on never -q
.venv/bin/conformance replay send "$OUT/session.mitm" --daemon "$DOCKERD" --report "$OUT/to-dockerd" --fail-on never -q
