"""The reference daemon: an in-memory Docker Remote API v1.14 server with Docker 1.2.0 semantics.

It routes with the rule book (conformance.spec) and never imports the checker. Use `ReferenceDaemon`
from asyncio code, `running_daemon()` / `DaemonThread` from synchronous code and tests, and
`conformance serve` from the shell.
"""

from .deviations import DEVIATIONS, Deviation
from .reference import DaemonThread, ReferenceDaemon, handled_endpoints, running_daemon

__all__ = ["DEVIATIONS", "Deviation", "DaemonThread", "ReferenceDaemon", "handled_endpoints", "running_daemon"]
