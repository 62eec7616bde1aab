"""`conformance export CAPTURE --har FILE`: write a capture as a HAR 1.2 file, secrets redacted.

Secrets go through `conformance.capture.redact` (`--no-redact` keeps them). The entry fields and
our HAR extensions (`_hijack`, `_stdio`, `_timing`, ...) are declared, written and read in one place,
`conformance.capture.har`; `load_capture` reads all. `startedDateTime` of an exchange without
timestamps is the capture file's modification time. The URL's host is `--base-url`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..capture import CaptureError, load_capture
from ..capture.har import har_document, har_entry

__all__ = ["har_document", "har_entry", "register", "run"]  # har_*: where `replay send --har` finds them


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="convert a capture (mitmproxy flows or HAR) to HAR 1.2",
                       description="Write every exchange of CAPTURE to a HAR 1.2 file, registry secrets "
                                   "redacted, hijacked streams kept in the `_hijack` custom field.")
    p.add_argument("capture", metavar="CAPTURE", help="mitmproxy flow file or HAR file")
    p.add_argument("--har", required=True, metavar="FILE", help="HAR file to write ('-' for stdout)")
    p.add_argument("--base-url", default="http://docker", metavar="URL",
                   help="scheme and host put in front of each request target (default: %(default)s)")
    p.add_argument("--no-redact", action="store_true",
                   help="keep registry credentials in the output (prints a warning)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.capture)
    try:
        exchanges = load_capture(path)
    except CaptureError as exc:
        print(f"conformance export: {exc}", file=sys.stderr)
        return 2
    if args.no_redact:
        print("conformance export: warning: --no-redact: registry credentials are written as recorded",
              file=sys.stderr)
    started = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
    doc = har_document(exchanges, base_url=args.base_url, started=started, redact_secrets=not args.no_redact,
                       comment=f"exported from {path.name} by conformance export")
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if args.har == "-":
        sys.stdout.write(text)
    else:
        Path(args.har).write_text(text, encoding="utf-8")
        print(f"conformance export: {len(exchanges)} exchange(s) -> {args.har}", file=sys.stderr)
    return 0
