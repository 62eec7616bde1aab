"""`conformance proxy`: put the validating proxy between a Docker client and a daemon."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from ..daemonurl import DaemonURLError, default_upstream, parse_daemon_url


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "proxy", help="relay a Docker client to a daemon, judging every exchange against v1.14",
        description="Listen where a Docker client connects (DOCKER_HOST=<--listen>), relay to the daemon, "
                    "and judge every exchange, hijacked attach streams included.")
    p.add_argument("--listen", required=True, metavar="URL",
                   help="unix:///path (created mode 0600) or tcp://127.0.0.1:PORT")
    p.add_argument("--daemon", dest="upstream", default=None, metavar="URL",
                   help="the daemon: unix:///path or tcp://host:port (default: $DOCKER_HOST, then "
                        "unix:///var/run/docker.sock)")
    # the flag's older name: every command calls its target --daemon now
    p.add_argument("--upstream", dest="upstream", default=None, help=argparse.SUPPRESS)
    p.add_argument("--log", metavar="FILE.jsonl", help="append one JSON line per exchange")
    p.add_argument("--record", metavar="FILE", help="write every exchange as mitmproxy flows (redacted)")
    p.add_argument("--no-redact", action="store_true",
                   help="with --record: keep registry credentials (X-Registry-Auth, X-Registry-Config, /auth "
                        "passwords) in the recording; the log and console stay redacted (prints a warning)")
    p.add_argument("--ignore", action="append", default=[], metavar="RULE",
                   help="a rule id (or glob) not to report; repeatable")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback TCP listen address (the daemon's full power, unauthenticated)")
    p.add_argument("--quiet", action="store_true", help="no line per exchange (summary only)")
    p.add_argument("--width", type=int, default=0, metavar="N",
                   help="cut request targets in console lines to N characters (default: whole targets)")
    p.add_argument("--min-severity", choices=("info", "warning", "error"), default="info",
                   help="show findings of at least this severity on the console (the log keeps all)")
    p.add_argument("--fail-on", choices=("error", "warning", "never"), default="never",
                   help="exit 1 at shutdown when a finding of this severity or worse was seen (to gate a "
                        "CI job); default: never")
    p.epilog = ("exit status: 0 stopped cleanly (Ctrl-C or SIGTERM), 1 findings at the --fail-on level, "
                "2 usage error or unusable address (including an upstream that is the proxy itself)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        listen = parse_daemon_url(args.listen)
        upstream = parse_daemon_url(args.upstream or default_upstream())
    except DaemonURLError as exc:
        print(f"conformance proxy: {exc}", file=sys.stderr)
        return 2
    if args.no_redact and not args.record:
        print("conformance proxy: --no-redact only applies to --record (the log and console are always "
              "redacted)", file=sys.stderr)
        return 2
    if not listen.is_loopback and not args.allow_remote:
        print(f"conformance proxy: refusing to listen on {listen}: anyone who reaches it controls the "
              "daemon; use a loopback address or a Unix socket, or pass --allow-remote", file=sys.stderr)
        return 2
    return asyncio.run(_serve(args, listen, upstream))


async def _serve(args, listen, upstream) -> int:
    from .console import ConsoleReport
    from .embedded import EmbeddedProxy, UpstreamLoop
    from .recorder import FlowRecorder
    from .session import ProxySession

    session = ProxySession(ignore=args.ignore, log_path=args.log)
    console = ConsoleReport(show_findings=not args.quiet, width=args.width, min_severity=args.min_severity)
    if not args.quiet:
        session.sinks.append(console.exchange)
        session.open_sinks.append(console.opened)
    if args.no_redact:
        print(f"conformance proxy: WARNING: --no-redact: registry credentials (X-Registry-Auth, "
              f"X-Registry-Config, /auth passwords) are written in clear to {args.record} (created mode 0600); "
              "treat that file as a secret. The log and console stay redacted.", file=sys.stderr, flush=True)
    recorder = FlowRecorder(args.record, redact=not args.no_redact) if args.record else None
    if recorder is not None:
        recorder.attach(session)
    proxy = EmbeddedProxy(listen, upstream, session, recorder)
    try:
        bound = await proxy.start()
    except UpstreamLoop as exc:
        print(f"conformance proxy: {exc}", file=sys.stderr)
        session.close()
        return 2
    except OSError as exc:
        print(f"conformance proxy: cannot listen on {listen}: {exc}", file=sys.stderr)
        session.close()
        return 2
    console.console.print(f"conformance proxy: listening on {bound}, upstream {upstream}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await proxy.stop()  # open exchanges are logged and recorded as cut by the proxy first
        console.summary(session.stats)
        session.close()
        if recorder is not None:
            recorder.close()
    return failed_at(session.stats, args.fail_on)


def failed_at(stats, level: str) -> int:
    """1 when a finding at `level` or worse was seen ("never": always 0)."""
    levels = {"error": ("error",), "warning": ("error", "warning")}.get(level, ())
    return int(any(stats.by_severity.get(sev) for sev in levels))
