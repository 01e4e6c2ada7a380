"""A recording HTTP forwarder between a gateway and the buffer: every call the gateway makes is
kept byte for byte with the buffer's answer, so a test can say what the gateway sent and whether
the answer was one the gateway counts as taken."""

from __future__ import annotations

import http.server
import socket
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Call:
    request_line: bytes  # as the gateway sent it: method, path with query, version
    body: bytes
    status: int
    answer: bytes


class Tap:
    """Listens on 127.0.0.1 (``url``) and forwards each request to ``upstream`` (host, port)."""

    def __init__(self, upstream: tuple[str, int]):
        self.calls: list[Call] = []
        tap = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: nothing to track

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                line = self.requestline.encode("latin-1")  # http.server decoded it as latin-1
                head = [line]
                for name, value in self.headers.items():
                    if name.lower() not in ("connection", "keep-alive"):
                        head.append(f"{name}: {value}".encode("latin-1"))
                head.append(b"Connection: close")
                raw = tap._exchange(upstream, b"\r\n".join(head) + b"\r\n\r\n" + body)
                status_line, _, rest = raw.partition(b"\r\n")
                status = int(status_line.split()[1])
                answer = rest.partition(b"\r\n\r\n")[2]
                tap.calls.append(Call(line, body, status, answer))
                self.wfile.write(raw)

            do_GET = do_POST = forward

            def log_message(self, format, *args):  # noqa: A002 - the base class's signature
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True, name="tap").start()

    @staticmethod
    def _exchange(upstream: tuple[str, int], request: bytes) -> bytes:
        with socket.create_connection(upstream, timeout=30) as connection:
            connection.sendall(request)
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
