"""What the proxy prints: one compact line per exchange, coloured by its worst finding, and a summary."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from .session import LiveExchange, SessionStats

_RANK = {"error": 3, "warning": 2, "warn": 2, "info": 1}
_STYLE = {3: "bold red", 2: "yellow", 1: "cyan", 0: "green"}


def worst_severity(findings: list[dict]) -> int:
    return max((_RANK.get(f["severity"], 1) for f in findings), default=0)


class ConsoleReport:
    """Prints to stderr, so a proxy's stdout stays free for whoever wraps it."""

    def __init__(self, console: Console | None = None, show_findings: bool = True, width: int = 0,
                 min_severity: str = "info"):
        self.console = console or Console(file=sys.stderr, highlight=False, soft_wrap=True)
        self.show_findings = show_findings
        self.width = width  # 0: whole request targets
        self.min_rank = _RANK.get(min_severity, 1)

    def _target(self, target: str) -> str:
        if self.width and len(target) > self.width:
            return target[: max(1, self.width - 1)] + "…"
        return target

    def opened(self, ex: LiveExchange) -> None:
        """An exchange still open after a second: shown when it started (a hanging request is the
        thing people debug), ended later by its own line."""
        text = Text(f"{ex.id:>5} ... {ex.method:<6} ", style="dim")
        text.append(self._target(ex.redacted.target or ex.redacted.scrub(ex.target)))
        text.append("  open (started ", style="dim")
        text.append(time.strftime("%H:%M:%S", time.localtime(ex.time)), style="dim")
        text.append(")", style="dim")
        self.console.print(text)

    def exchange(self, ex: LiveExchange, line: dict) -> None:
        findings = [f for f in line["findings"] if _RANK.get(f["severity"], 1) >= self.min_rank]
        rank = worst_severity(findings)
        transport = line.get("error") and not line.get("cut")
        style = "bold red" if transport else _STYLE[rank]
        status = str(line["status"]) if line["status"] is not None else "---"
        text = Text(f"{line['id']:>5} {status} {line['method']:<6} ", style=style)
        text.append(self._target(line["path"]))
        text.append(f"  {line['duration_ms']:.1f}ms", style="dim")
        if line["hijacked"]:
            text.append(f"  hijacked {line['request_bytes']}B>{line['response_bytes']}B<", style="dim")
        if findings:
            text.append(f"  {len(findings)} finding(s)", style=style)
        if line.get("error"):
            text.append(f"  {line['error']}", style="bold red" if transport else "dim")
        self.console.print(text)
        if self.show_findings:
            for f in findings:
                fr = _RANK.get(f["severity"], 1)
                self.console.print(Text(f"        {f['severity']:<7} {f['rule']}: {f['message']}",
                                        style=_STYLE[fr]))

    def summary(self, stats: SessionStats) -> None:
        c = self.console
        cuts = ""
        if stats.cut_by_client or stats.cut_by_proxy:
            cuts = f", {stats.cut_by_client} ended by the client, {stats.cut_by_proxy} cut at shutdown"
        refused = f", {stats.refused} refused by the proxy" if stats.refused else ""
        c.print(Text(f"\n{stats.exchanges} exchange(s), {stats.hijacked} hijacked, "
                     f"{stats.errors} transport error(s){cuts}{refused}; findings: "
                     + (", ".join(f"{n} {sev}" for sev, n in stats.by_severity.most_common()) or "none"),
                     style="bold"))
        if stats.by_rule:
            t = Table(title="findings by rule")
            t.add_column("rule")
            t.add_column("count", justify="right")
            for rule, n in stats.by_rule.most_common():
                t.add_row(rule, str(n))
            c.print(t)
        if stats.endpoints:
            t = Table(title="endpoints seen")
            t.add_column("endpoint")
            t.add_column("exchanges", justify="right")
            for ep, n in stats.endpoints.most_common():
                t.add_row(ep, str(n))
            c.print(t)
