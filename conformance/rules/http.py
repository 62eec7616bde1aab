"""HTTP/1 framing as the proxy relays it (RFC 9112; 1.2.0 is Go net/http); raised by conformance/proxy/relay.py."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Side, declare

ERR, WARN = Severity.ERROR, Severity.WARNING
rule = declare("http", Side.WIRE)

rule("v114.http.malformed", ERR,
     "A message head (request line or status line and header fields) and a chunked body follow HTTP/1.1 syntax.",
     "RFC 9112 §2-§7")
rule("v114.http.framing-conflict", ERR,
     "A message does not carry Content-Length together with Transfer-Encoding (Go net/http never sends both; "
     "the chunked framing is the one used).",
     "RFC 9112 §6.1")
rule("v114.http.head-too-large", ERR,
     "A message head fits in 64 KiB (Go net/http reads at most 1 MiB of request head and 1.2.0's own heads are "
     "a few hundred bytes).",
     "RFC 9112 §2.3")
rule("v114.http.unsolicited-continue", WARN,
     "A `100 Continue` comes only after a request that sent `Expect: 100-continue` (legal HTTP, but 1.2.0 never"
     " sends one otherwise).",
     "RFC 9110 §15.2.1")
