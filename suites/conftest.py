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
settings.register_profile("thorough", max_examples=60, stateful_step_count=40, deadline=None,
                          suppress_health_check=_HEALTH, print_blob=True)


def pytest_configure(config) -> None:
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("conformance")
