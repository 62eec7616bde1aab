#!/usr/bin/env bash
# The main job (README): run the conformance suite against the embedded reference daemon and write
# the compatibility report to reports/reference/ (report.json, report.md, report.html, junit.xml).
# Extra arguments go to `conformance suite` (e.g. --daemon unix:///var/run/docker.sock).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# DOCKER_HOST would make the suite target that daemon; the main job is the reference daemon unless
# the caller names a daemon explicitly.
env -u DOCKER_HOST .venv/bin/conformance suite "$@"
