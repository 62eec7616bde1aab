"""A rich progress bar for a suite run: tests done, failures so far, the test running now."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class SuiteProgress:
    """A pytest plugin object; works with and without xdist (counts reports, not items)."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.progress = Progress(TextColumn("[bold]v1.14 suite[/]"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("[red]{task.fields[failed]} failed[/]"), TimeElapsedColumn(),
                                 TextColumn("{task.fields[current]}"), console=self.console, transient=True)
        self.task = None
        self.failed = 0

    def _total(self, n: int) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("tests", total=n, failed=0, current="")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not getattr(session.config, "workerinput", None) and session.items:
            self._total(len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self._total(len(ids))

    def pytest_runtest_logstart(self, nodeid: str, location) -> None:
        if self.task is not None:
            self.progress.update(self.task, current=nodeid.split("::", 1)[-1][:60])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.task is None:
            return
        if report.failed:
            self.failed += 1
            self.progress.update(self.task, failed=self.failed)
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.progress.advance(self.task)

    def pytest_sessionfinish(self) -> None:
        if self.task is not None:
            self.progress.stop()
            self.task = None
