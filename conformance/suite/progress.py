"""A rich progress bar for a suite run: tests done, failures so far, the test running now.

Two things keep the bar and pytest's own output from garbling each other:
- the bar is drawn on a duplicate of the terminal's stderr descriptor, so pytest's fd-level capture
  of a running test (which points fd 2 at a temporary file) neither swallows the bar's redraws nor
  puts them into the test's captured output;
- pytest's terminal writer gets a line proxy as its stdout (when stdout is a terminal too): whole
  lines go through the console and appear above the bar instead of being written across it; a
  partial line (pytest's dots) waits for its end, even when pytest flushes it.
"""

from __future__ import annotations

import os
import sys

import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text


class _LineProxy:
    """A text stream that hands complete lines (ANSI colours kept) to a rich console."""

    def __init__(self, console: Console, real):
        self._console, self._real, self._pending = console, real, ""

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            self._console.print(Text.from_ansi(line), soft_wrap=True)
        return len(text)

    def flush(self) -> None:  # a partial line is kept until its end: flushing it would cut it in two
        pass

    def close_line(self) -> None:
        if self._pending:
            self._console.print(Text.from_ansi(self._pending), soft_wrap=True)
            self._pending = ""

    def __getattr__(self, name: str):  # isatty, fileno, encoding, ... of the real stream
        return getattr(self._real, name)


class SuiteProgress:
    """A pytest plugin object and a context manager around `pytest.main`; works with and without xdist
    (counts reports, not items)."""

    def __init__(self, console: Console | None = None):
        self._own_file = None
        if console is None:
            self._own_file = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8",
                                       errors="replace")
            console = Console(file=self._own_file, force_terminal=sys.stderr.isatty())
        self.console = console
        self.progress = Progress(TextColumn("[bold]v1.14 suite[/]"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("[red]{task.fields[failed]} failed[/]"), TimeElapsedColumn(),
                                 TextColumn("{task.fields[current]}", markup=False), console=self.console,
                                 transient=True,
                                 redirect_stdout=False, redirect_stderr=False)
        self.task = None
        self.failed = 0
        self._stdout = None

    # -- around pytest.main -------------------------------------------------------------------------
    def __enter__(self) -> SuiteProgress:
        if sys.stdout.isatty():  # pytest's terminal reporter takes sys.stdout when it is created
            self._stdout = sys.stdout
            sys.stdout = _LineProxy(self.console, self._stdout)
        return self

    def __exit__(self, *exc) -> None:
        self.pytest_sessionfinish()
        if self._stdout is not None:
            sys.stdout.close_line()
            sys.stdout = self._stdout
            self._stdout = None
        if self._own_file is not None:
            self._own_file.close()
            self._own_file = None

    # -- pytest hooks -------------------------------------------------------------------------------
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

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        if self.task is not None:
            self.progress.stop()
            self.task = None
