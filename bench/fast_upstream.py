"""A Unix-socket 'daemon' for the proxy benchmark that answers every request with one prepared
multiplexed stream (chunked, 16 KiB frames), at memory speed: the proxy's own ceiling shows, not
dockerd's (`python bench/fast_upstream.py SOCKET MIB`)."""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading


def prepared(mib: int) -> bytes:
    payload = os.urandom(16 << 10)
    frame = bytes([1, 0, 0, 0]) + struct.pack(">I", len(payload)) + payload
    chunk = b"%x\r\n%s\r\n" % (len(frame) * 4, frame * 4)
    return chunk * (mib * 16)  # 64 KiB of frames per chunk


def serve(path: str, mib: int) -> None:
    body = prepared(mib) + b"0\r\n\r\n"
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    sock.listen(64)

    def one(conn: socket.socket) -> None:
        with conn:
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                _, buf = buf.split(b"\r\n\r\n", 1)
                conn.sendall(head)
                view = memoryview(body)
                for i in range(0, len(view), 1 << 20):
                    conn.sendall(view[i:i + (1 << 20)])

    while True:
        conn, _ = sock.accept()
        threading.Thread(target=one, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
