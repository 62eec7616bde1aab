"""Hypothesis profiles of the suite (the plugin itself comes from the `pytest11` entry point)."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
# fast: the whole suite against the reference daemon stays well under a minute on two cores
# derandomized: the same examples every run, so a report compares with the last one (the thorough profile
# explores and shrinks)
settings.register_profile("conformance", max_examples=6, stateful_step_count=12, deadline=None,
                          suppress_health_check=_HEALTH, database=None, print_blob=True, derandomize=True,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking: slow daemons
# the differential mode: a difference from the reference daemon fails a step, and shrinking finds the shortest
# sequence (or simplest request) that shows it (suites/expect.py expect_same_as_reference)
settings.register_profile("conformance-oracle", parent=settings.get_profile("conformance"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
settings.register_profile("thorough", max_examples=60, stateful_step_count=40, deadline=None,
                          suppress_health_check=_HEALTH, print_blob=True)


def pytest_configure(config) -> None:
    if not config.getoption("hypothesis_profile", None):
        oracle = config.getoption("v114_oracle", None)
        settings.load_profile("conformance-oracle" if oracle else "conformance")
