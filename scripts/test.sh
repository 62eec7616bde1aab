#!/usr/bin/env bash
# The project's test command (README: `scripts/setup.sh && scripts/test.sh`; .ci/run calls it too).
# Extra arguments go to pytest. Daemons: CONFORMANCE_DOCKERD / CONFORMANCE_PODMAN if set, else the
# fixtures in tests/conftest.py start private ones. CONFORMANCE_VENV picks the venv (default .venv;
# CI also runs the tests in a second venv on a newer Python).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rc=0
"${CONFORMANCE_VENV:-.venv}/bin/pytest" -q -n 2 --durations=15 tests "$@" || rc=$?
if [[ $rc == 5 ]]; then
  echo "test.sh: pytest collected no tests (exit 5): treated as a failure" >&2
  exit 1
fi
exit "$rc"
