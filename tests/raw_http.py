"""Bytes no HTTP client would send, written to a real server's socket, and its answer read."""

from __future__ import annotations

import json
import socket


def send_raw(url: str, data: bytes, timeout: float = 10) -> bytes:
    """Send ``data`` as it is on a fresh connection to ``url``'s host; return every byte the
    server answered until it closed."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def status_of(answer: bytes) -> int:
    """The status of a raw answer; 0 for one that is not HTTP."""
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def json_answer(answer: bytes) -> tuple[int, dict, dict]:
    """Status, headers (lower-case names) and JSON body of a raw answer in the JSON shape."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    headers = {name.lower(): text for name, text in headers.items()}
    assert headers.get("content-type", "").startswith("application/json"), answer
    return int(status_line.split(" ")[1]), headers, json.loads(body)
