"""Shared fixtures: the real daemons the suite runs against, and a per-run resource name prefix.

- `dockerd_url` / `podman_url` (session): `unix:///…/docker.sock` of a dockerd 20.10 / podman service with
  `busybox:latest` imported. Taken from CONFORMANCE_DOCKERD / CONFORMANCE_PODMAN when set (.ci/run sets
  them); otherwise the fixture starts a private daemon itself with scripts/daemons.sh under
  /tmp/cft-<run id>/, shared by all xdist workers, stopped and removed when pytest ends.
  When CI is set, a daemon that cannot be had is a test failure, never a skip. Outside CI, a machine
  without the packages (or not root) skips those tests with the reason.
- `name_prefix` (session): `cft-<run id>-<worker>`; name every container/image a test makes with it
  (or use `unique_name`). Containers and image tags with that prefix are force-removed at session end.
- Tests that use `dockerd_url` / `podman_url` get the `dockerd` / `podman` marker automatically.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests import daemons

# Per-example time limits measure the machine, not the code: on a shared 2-core machine with daemons
# and other jobs beside the tests, one example in thousands takes 400 ms for reasons of its own. Tests
# that bound time say so themselves (with a budget they compute); hypothesis' deadline stays off.
settings.register_profile("conformance", deadline=None)
settings.load_profile("conformance")

_RUN_ID_VAR = "CONFORMANCE_RUN_ID"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_configure(config: pytest.Config) -> None:
    # The controller picks the run id before xdist starts its workers; they inherit the environment.
    if not hasattr(config, "workerinput"):
        os.environ.setdefault(_RUN_ID_VAR, uuid.uuid4().hex[:8])


def _run_id(config: pytest.Config) -> str:
    rid = os.environ.get(_RUN_ID_VAR)
    if not rid:
        rid = getattr(config, "workerinput", {}).get("testrunuid", "")[:8] or f"p{os.getpid()}"
        os.environ[_RUN_ID_VAR] = rid
    return rid


def _state_dir(config: pytest.Config) -> Path:
    return Path(f"/tmp/cft-{_run_id(config)}")


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # the controller (or the single process) stops what the fixtures started
    sd = _state_dir(config)
    if (sd / "started-by-pytest").exists():
        try:
            daemons.clean(sd)
        except Exception as e:  # noqa: BLE001 - report, do not mask the test result
            print(f"\nconftest: could not stop the daemons under {sd}: {e}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "dockerd_url" in names:
            item.add_marker(pytest.mark.dockerd)
        if "podman_url" in names:
            item.add_marker(pytest.mark.podman)


@pytest.fixture(scope="session")
def name_prefix(pytestconfig: pytest.Config) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"cft-{_run_id(pytestconfig)}-{worker}"


@pytest.fixture
def unique_name(name_prefix: str) -> Iterator[str]:
    """A fresh `<name_prefix>-<n>` for each test that asks."""
    yield f"{name_prefix}-{next(_counter)}"


_counter = itertools.count(1)


def _daemon(which: str, config: pytest.Config) -> str:
    var = daemons.ENV_VARS[which]
    url = os.environ.get(var)
    if url:
        if not daemons.ping(url):
            pytest.fail(f"{var}={url} does not answer /_ping", pytrace=False)
        return url
    reason = daemons.missing_requirements(which)
    if reason:
        if _in_ci():
            pytest.fail(f"CI is set and {which} cannot be started: {reason}", pytrace=False)
        pytest.skip(f"{which} not available: {reason}; or set {var}=unix:///path/to.sock")
    sd = _state_dir(config)
    sd.mkdir(parents=True, exist_ok=True)
    (sd / "started-by-pytest").touch()
    with open(sd / f"{which}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one xdist worker starts it, the others reuse it
        try:
            url = daemons.start(which, sd)
        except daemons.DaemonError as e:
            pytest.fail(f"could not start {which}: {e}", pytrace=False)
    if not daemons.ping(url):
        pytest.fail(f"{which} started at {url} but does not answer /_ping", pytrace=False)
    return url


@pytest.fixture(scope="session")
def dockerd_url(pytestconfig: pytest.Config, name_prefix: str) -> Iterator[str]:
    url = _daemon("dockerd", pytestconfig)
    yield url
    daemons.remove_resources(url, name_prefix)


@pytest.fixture(scope="session")
def podman_url(pytestconfig: pytest.Config, name_prefix: str) -> Iterator[str]:
    url = _daemon("podman", pytestconfig)
    yield url
    daemons.remove_resources(url, name_prefix)
