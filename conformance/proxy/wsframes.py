"""Passive RFC 6455 frame parsing for the relay: the bytes pass raw, the checker gets messages."""

from __future__ import annotations

from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import FrameProtocol, Opcode, ParseFailed


class WebsocketReader:
    """Passive RFC 6455 parsing of one direction, for the checker; the bytes themselves pass raw."""

    def __init__(self, from_client: bool, extensions: str | None = None):
        """`extensions`: the Sec-WebSocket-Extensions the daemon accepted (permessage-deflate
        frames carry RSV1; read without the extension they would look broken)."""
        self.from_client = from_client
        exts = []
        if extensions and "permessage-deflate" in extensions.lower():
            pmd = PerMessageDeflate()
            pmd.finalize(extensions)
            exts.append(pmd)
        self._proto = FrameProtocol(client=not from_client, extensions=exts)
        self._parts: list[bytes] = []
        self._opcode: Opcode | None = None
        self.failed: str | None = None
        self.reported = False

    def feed(self, data: bytes) -> list[tuple[bool, bytes]]:
        """Whole messages completed by `data`: (is_text, payload)."""
        if self.failed is not None:
            return []
        out = []
        self._proto.receive_bytes(data)
        try:
            for frame in self._proto.received_frames():
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                    self._opcode, self._parts = frame.opcode, []
                elif frame.opcode is not Opcode.CONTINUATION:
                    continue  # ping, pong, close: control frames are not messages
                payload = frame.payload
                self._parts.append(payload.encode() if isinstance(payload, str) else bytes(payload))
                if frame.message_finished:
                    out.append((self._opcode is Opcode.TEXT, b"".join(self._parts)))
                    self._parts = []
        except ParseFailed as exc:
            self.failed = str(exc) or type(exc).__name__
        return out
