#!/usr/bin/env bash
# Idempotent set-up of a machine for this project (Debian 12, as root):
#   - Debian packages: the daemons the tests run against (docker.io = dockerd 20.10 + CLI, podman,
#     runc), a static busybox for the test image, socat for the recording bridge, curl;
#   - .venv (Python 3.11; CONFORMANCE_VENV/CONFORMANCE_PYTHON for another) with the project installed editable with its dev extras (setup.py maps
#     suites/ and proxy_addons/ to conformance.suites and conformance.proxy_addons).
# Fast when everything is there already: apt is skipped when the packages are installed,
# pip when pyproject.toml has not changed since the last install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { echo "setup.sh: $*" >&2; }

# Installed with their Recommends (tini, containernetworking-plugins, slirp4netns, uidmap, ...):
# that is the set the daemons were verified with.
PKGS=(docker.io podman runc busybox-static socat curl)

missing=()
for p in "${PKGS[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  [[ "$(id -u)" == 0 ]] || { log "need root to install: ${missing[*]}"; exit 1; }
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  t0=$SECONDS
  apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  apt-get "${apt_opts[@]}" install -y -qq "${missing[@]}" >/tmp/setup-apt.log 2>&1 \
    || { tail -n 40 /tmp/setup-apt.log >&2; exit 1; }
  log "apt done in $((SECONDS - t0))s"
fi
# busybox-static and busybox both provide /bin/busybox; the image needs the static one.
if command -v ldd >/dev/null && ldd /bin/busybox >/dev/null 2>&1; then
  log "WARNING: /bin/busybox is dynamically linked; the test image needs busybox-static's"
fi

# The venv: .venv on Python 3.11 (the machines' python3) unless CONFORMANCE_VENV / CONFORMANCE_PYTHON
# name another (CI builds a second one on a newer Python: CONFORMANCE_VENV=.venv313
# CONFORMANCE_PYTHON=/path/to/python3.13). pyproject.toml allows 3.11 and later; mitmproxy 11.0.2
# is chosen on 3.11, 12.x on 3.12 and later.
VENV="${CONFORMANCE_VENV:-.venv}"
PY="${CONFORMANCE_PYTHON:-}"
if [[ -z "$PY" ]]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY="$(command -v "$cand")"
      break
    fi
  done
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  [[ -n "$PY" ]] || { log "no Python 3.11 found (or set CONFORMANCE_PYTHON)"; exit 1; }
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { log "$PY is older than 3.11"; exit 1; }
  log "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.setup-stamp"
want="$(cat pyproject.toml setup.py | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]] || ! "$VENV/bin/python" -c 'import mitmproxy, httpx, pytest, xdist, shtab, conformance.suites.plugin' 2>/dev/null; then
  log "pip install -e '.[dev]' into $VENV"
  t0=$SECONDS
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]' >/tmp/setup-pip.log 2>&1 \
    || { grep -v "^WARNING: Location 'file:" /tmp/setup-pip.log | tail -n 40 >&2; exit 1; }
  echo "$want" >"$stamp"
  log "pip done in $((SECONDS - t0))s"
fi
log "ok"
