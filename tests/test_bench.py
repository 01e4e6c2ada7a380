"""The benchmarks' own inputs are what they claim to be (no timing here: speed is bench/'s).

A slow-client figure is only worth something if the slow sockets carry requests the buffer would
answer: otherwise it measures how the server treats garbage, not how it treats slowness.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from bench import slow
from bench.databases import Unavailable
from bench.peer import locate


def _send_at_once(url: str, data: bytes) -> tuple[int, dict]:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    return int(head.split()[1]), json.loads(body)


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_slow_sockets_request_sent_at_once_is_a_report_the_buffer_stores(buffer_server, mode):
    parts = urlsplit(buffer_server.url)
    start, drip = slow.request_bytes(mode, parts.netloc, f"slow-test-{mode}")
    status, body = _send_at_once(buffer_server.url, start + drip)
    assert status == 200, body
    # DI's /set answers one result; Infobip's batch route a list of them.
    assert [item["result"] for item in body.get("results", [body])] == ["stored"], body


def test_an_idle_socket_sends_nothing():
    assert slow.request_bytes("idle", "127.0.0.1:1", "x") == (b"", b"")


def test_the_slow_body_is_announced_in_full_and_never_finishes_within_a_run():
    start, drip = slow.request_bytes("body", "127.0.0.1:1", "x")
    assert f"Content-Length: {len(drip)}\r\n".encode() in start
    assert start.endswith(b"\r\n\r\n")
    assert len(drip) * slow.DRIP_S > 3600


def test_a_missing_peer_is_skipped_with_the_option_that_names_it(tmp_path):
    with pytest.raises(Unavailable, match="--peer PATH"):
        locate(str(tmp_path))


def test_the_driver_bench_sends_every_way_through_the_buffers_own_upsert(postgres_url):
    """``python -m bench.driver``: every way stores every row of every batch it sends."""
    import psycopg

    from bench.driver import measure

    (figures,) = measure(postgres_url, batches=5, sizes=[3])
    assert figures["rows_per_batch"] == 3
    ways = ("function", "statement", "with_read", "arrays")
    assert all(figures[f"{way}_client_us"] > 0 for way in ways)
    with psycopg.connect(postgres_url) as connection:
        stored = connection.execute(
            "SELECT count(*) FROM notifications WHERE \"messageId\" LIKE 'driver-bench-%%'"
        ).fetchone()[0]
    # Warm-up and timed batches, four ways, every round: each row a new message.
    assert stored == 3 * (100 + 5) * len(ways) * 3
