"""`conformance serve`: run the reference daemon until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from .deviations import DEVIATIONS
from .limits import add_arguments as add_limit_arguments
from .limits import from_arguments as limits_from_arguments
from .server import serve_until_signalled


def default_listen() -> str:
    return f"unix:///tmp/conformance-docker-{os.getuid()}.sock"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the in-memory reference v1.14 daemon (Docker 1.2.0 semantics)",
        description="Run the in-memory reference daemon. It speaks Docker Remote API v1.14 as Docker 1.2.0 "
                    "did; containers run a small simulated command set, never host processes.")
    parser.add_argument("--listen", default=None, metavar="URL",
                        help="unix:///path (mode 0600) or tcp://127.0.0.1:PORT (loopback only); "
                             f"default {default_listen()}")
    parser.add_argument("--deviate", action="append", default=[], metavar="NAME",
                        help="break one rule on purpose (repeatable; see --list-deviations)")
    parser.add_argument("--list-deviations", action="store_true", help="list the deviations and exit")
    parser.add_argument("--seed-busybox", action="store_true",
                        help="start with a synthetic busybox:latest image (default: no images, as a fresh "
                             "daemon; import or load one)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    add_limit_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list_deviations:
        width = max(len(d.name) for d in DEVIATIONS)
        for d in DEVIATIONS:
            print(f"{d.name:<{width}}  {d.rule:<28}  {d.description}")
        return 0
    from .reference import ReferenceDaemon

    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    try:
        daemon = ReferenceDaemon(args.deviate, seed_busybox=args.seed_busybox, limits=limits_from_arguments(args))
    except ValueError as exc:
        print(f"conformance serve: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(daemon, args.listen or default_listen()))


async def _serve(daemon, listen: str) -> int:
    deviations = f"   (deviations: {', '.join(sorted(daemon.deviations))})" if daemon.deviations else ""
    return await serve_until_signalled(daemon, listen, "conformance serve",
                                       lambda url: f"# export DOCKER_HOST={url} DOCKER_API_VERSION=1.14{deviations}")
