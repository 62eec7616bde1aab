"""The flow metadata `conformance proxy --record` writes: `flow.metadata["conformance"]`, read and written here.

Keys (mitmproxy's tnetstring serialisation holds lists, bools, floats and bytes; mitmweb opens the file):
    "id"         the exchange's id in the JSONL log (`check` and the HAR export number exchanges with it)
    "findings"   the findings as logged (`Finding.to_dict`), redacted
    "hijacked"   the exchange was hijacked (attach, exec; a websocket attach too)
    "error"      the transport error as logged, or None
    "cut"        "client" | "proxy": who ended the exchange early when it was not the daemon (optional)
    "hijack"     [[from_client: bool, data: bytes], ...] raw hijacked bytes in order (optional)
    "timing"     {"response": [[offset, nbytes], ...], "hijack": [[[offset, nbytes], ...], ...]}:
                 seconds after the response head, per piece of the streamed body / of each hijack run
    "stdio"      "raw" (the container has a TTY) | "multiplexed": how the checker read attach/logs
    "truncated"  true when the recording kept only the first part of a body or stream (optional)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .exchange import CUT_BY, RecordedExchange
from .fields import covering, cut_by, pieces, wire_findings

__all__ = ["KEY", "FlowMeta"]

KEY = "conformance"
STDIO = ("raw", "multiplexed")


@dataclass
class FlowMeta:
    id: str
    findings: list[dict] = field(default_factory=list)
    hijacked: bool = False
    error: str | None = None
    cut: str | None = None
    hijack: list[tuple[bool, bytes]] | None = None
    response_timing: list[tuple[float, int]] | None = None
    hijack_timing: list[list[tuple[float, int]]] | None = None
    stdio: str | None = None
    truncated: bool = False

    # -- writing -----------------------------------------------------------------------------------
    def to_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"id": self.id, "findings": self.findings, "hijacked": self.hijacked,
                                "error": self.error}
        if self.cut is not None:
            meta["cut"] = self.cut
        if self.hijack is not None:
            meta["hijack"] = [[from_client, data] for from_client, data in self.hijack]
        timing: dict[str, list] = {}
        if self.response_timing:
            timing["response"] = [[at, n] for at, n in self.response_timing]
        if self.hijack_timing:
            timing["hijack"] = [[[at, n] for at, n in run] for run in self.hijack_timing]
        if timing:
            meta["timing"] = timing
        if self.stdio is not None:
            meta["stdio"] = self.stdio
        if self.truncated:
            meta["truncated"] = True
        return meta

    def write(self, flow) -> None:
        flow.metadata[KEY] = self.to_metadata()

    # -- reading -----------------------------------------------------------------------------------
    @classmethod
    def from_metadata(cls, meta: object) -> FlowMeta | None:
        """The metadata as written by `to_metadata` (malformed parts dropped), or None without any."""
        if not isinstance(meta, dict):
            return None
        raw_id = meta.get("id")
        out = cls(id=str(raw_id) if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else "")
        if isinstance(meta.get("findings"), list):
            out.findings = [f for f in meta["findings"] if isinstance(f, dict)]
        out.hijacked = bool(meta.get("hijacked"))
        out.error = meta["error"] if isinstance(meta.get("error"), str) else None
        out.cut = meta["cut"] if meta.get("cut") in CUT_BY else None
        hijack = meta.get("hijack")
        if isinstance(hijack, list):
            out.hijack = [(bool(item[0]), bytes(item[1])) for item in hijack
                          if isinstance(item, (list, tuple)) and len(item) == 2
                          and isinstance(item[1], (bytes, bytearray))]
        timing = meta.get("timing")
        if isinstance(timing, dict):
            out.response_timing = pieces(timing.get("response"))
            runs = timing.get("hijack")
            if isinstance(runs, list) and runs:
                paced = [pieces(run) for run in runs]
                out.hijack_timing = paced if all(p is not None for p in paced) else None  # type: ignore[assignment]
        out.stdio = meta["stdio"] if meta.get("stdio") in STDIO else None
        out.truncated = bool(meta.get("truncated"))
        return out

    @classmethod
    def read(cls, flow) -> FlowMeta | None:
        return cls.from_metadata(flow.metadata.get(KEY))

    def apply(self, ex: RecordedExchange, *, flow_error: bool) -> None:
        """Put what the metadata says on an exchange read from the same flow (its body already set)."""
        if self.id:
            ex.id = self.id
        if not flow_error and self.error is not None:
            ex.error = self.error  # an exchange the proxy's own relay carried: no mitmproxy error
            # the relay ended it early ("daemon closed the connection inside the body"), unless only
            # the checker stopped
            ex.response_complete = self.error.startswith("checker failed")
        ex.wire_findings = wire_findings(self.findings)
        ex.cut = self.cut if self.cut is not None else cut_by(ex.error)
        if self.hijack is not None:
            ex.hijack = list(self.hijack)
        ex.truncated = self.truncated
        if self.stdio is not None:
            ex.stdio_stream = self.stdio
        ex.response_timing = covering(self.response_timing, len(ex.response_body or b""))
        if ex.hijack and self.hijack_timing is not None and len(self.hijack_timing) == len(ex.hijack):
            paced = [covering(run, len(data)) for run, (_, data) in zip(self.hijack_timing, ex.hijack, strict=True)]
            if all(p is not None for p in paced):
                ex.hijack_timing = paced  # type: ignore[assignment]
