"""The production edges as real processes on real sockets, a tiny WSGI app (``served_app``)
behind each: ``wsgi_bridge`` on granian (the buffer's front) and gunicorn (the CPI proxy's).
What they refuse themselves is answered in the JSON error shape and told to the app."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import pytest
import requests

from smsbounce import contracts
from smsbounce.plumbing.serving import CannotListen, listen
from tests.raw_http import json_answer, send_raw
from tests.serve_process import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PYTHONPATH": str(ROOT)}
GRANIAN = (sys.executable, "-m", "tests.plumbing.served_app", "granian")
GUNICORN = (sys.executable, "-m", "tests.plumbing.served_app", "gunicorn")
CLOSE = b"Connection: close\r\n\r\n"


@pytest.fixture(scope="module")
def granian():
    with ServeProcess(ENV, command=GRANIAN) as server:
        yield server


REFUSED = {
    "target-too-long": (b"GET /echo?x=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n", 414),
    "field-too-long": (b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n", 431),
    "two-hosts": (b"GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n", 400),
    "body-too-slow": (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n", 408),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_the_bridge_refuses_is_json_with_the_apps_headers_and_told_to_it(granian, case):
    head, status = REFUSED[case]
    # The slow body's first bytes: the rest never comes.
    got, headers, body = json_answer(send_raw(granian.url, head + CLOSE + b'{"id": '))
    assert got == status, body
    assert contracts.validate("error", body)["error"]["status"] == status
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-refused-by"] == "served-app", "the app's headers are not added"
    granian.wait_for(f"refused {status}")


def test_more_than_100_header_fields_are_refused_by_granians_parser_with_a_bare_431(granian):
    fields = b"".join(b"X-F%d: 1\r\n" % n for n in range(98))  # with Host and Connection: 100
    assert echoed(granian, b"GET /echo HTTP/1.1\r\nHost: x\r\n" + fields + CLOSE)
    answer = send_raw(granian.url, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-F: 1\r\n" + fields + CLOSE)
    assert answer.startswith(b"HTTP/1.1 431 "), answer
    assert b"content-length: 0\r\n" in answer


def test_two_host_fields_are_named_in_the_refusal(granian):
    _, _, body = json_answer(send_raw(granian.url, REFUSED["two-hosts"][0] + CLOSE))
    assert body["error"]["message"] == "the request has more than one Host header field"


def echoed(server, data: bytes) -> dict:
    status, _, seen = json_answer(send_raw(server.url, data))
    assert status == 200, seen
    return seen


def test_a_header_name_with_an_underscore_is_dropped(granian):
    seen = echoed(
        granian,
        b"GET /echo HTTP/1.1\r\nHost: x\r\nX_Forwarded_For: 192.0.2.66\r\n"
        b"X-Forwarded-For: 198.51.100.1\r\n" + CLOSE,
    )
    assert seen["headers"]["HTTP_X_FORWARDED_FOR"] == "198.51.100.1"


def test_a_chunked_body_reaches_the_app_whole(granian):
    seen = echoed(
        granian,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        + CLOSE[:-2]
        + b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    assert seen["body"] == "hello world"


@pytest.mark.parametrize(
    ("framing", "read"),
    [
        # Refused by its length alone: not read at all, not even waited for.
        (b"Content-Length: 5000\r\n", 0),
        # Read one byte past the limit, so the app can tell, and no further.
        (b"Transfer-Encoding: chunked\r\n", 1001),
    ],
    ids=["content-length", "chunked"],
)
def test_a_body_too_large_is_read_no_further_than_the_app_needs_to_refuse_it(
    granian, framing, read
):
    body = b"" if read == 0 else b"5dc\r\n" + b"x" * 1500 + b"\r\n0\r\n\r\n"
    request = b"POST /echo HTTP/1.1\r\nHost: x\r\n" + framing + CLOSE + body
    status, _, answer = json_answer(send_raw(granian.url, request))
    assert status == 413
    assert answer["error"]["message"].endswith(f"({read} read)")


def test_sigterm_lets_the_request_in_flight_finish(tmp_path):
    release = tmp_path / "release"
    with ServeProcess({**ENV, "HOLD_RELEASE": str(release)}, command=GRANIAN) as server:
        answer = {}
        client = threading.Thread(
            target=lambda: answer.update(held=requests.get(server.url + "/hold", timeout=60))
        )
        client.start()
        server.wait_for("holding")
        server.process.send_signal(signal.SIGTERM)
        server.wait_for("Shutting down granian")
        release.touch()
        client.join(timeout=60)
        assert answer["held"].status_code == 200
        assert server.process.wait(timeout=60) == 0


def test_what_gunicorn_refuses_is_json_with_the_apps_headers_and_told_to_it(tmp_path):
    with ServeProcess({**ENV, "HOME": str(tmp_path)}, command=GUNICORN) as server:
        long_line = b"GET /echo?x=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n" + CLOSE
        status, headers, body = json_answer(send_raw(server.url, long_line))
        assert status == 414
        assert contracts.validate("error", body)["error"]["status"] == 414
        assert headers["x-refused-by"] == "served-app"
        server.wait_for("refused 414")
        assert server.stop() == 0
    # gunicorn 27 puts a control socket in $HOME/.gunicorn by default, one for every server of
    # the user: a second server took it over and stopping either deleted it.
    assert not (tmp_path / ".gunicorn").exists()


def test_a_port_another_server_listens_on_is_not_shared(granian):
    port = int(granian.url.rsplit(":", 1)[1])
    with pytest.raises(CannotListen, match=f"cannot listen on 127.0.0.1:{port}: "):
        listen("127.0.0.1", port)
    assert echoed(granian, b"GET /echo HTTP/1.1\r\nHost: x\r\n" + CLOSE)["body"] == ""
