"""Structured logs: one JSON line per request with a request id; secrets and numbers never in
clear; control characters escaped (docs/spec.md §5)."""

import asyncio
import dataclasses
import io
import json
import logging
import os
import re
import uuid
from datetime import datetime, timezone

import pytest
import requests
from hypothesis import example, given
from hypothesis import strategies as st

from smsbounce.buffer.logs import (
    ACCESS_LOGGER,
    JsonFormatter,
    RequestLog,
    Turn,
    mask_number,
    mask_numbers,
    redact_path,
    request_id,
    strip_queries,
    utc_stamp,
)
from tests.buffer.ops_helpers import access_entries, entries, json_logs
from tests.helpers import report_query
from tests.serve_process import ServeProcess

TOKEN = "tok-ABCDEFGHIJKLMNOP-1234"
NUMBER = "+4915112345678"


def test_one_line_per_request_with_request_id_echoed(buffer_server):
    with json_logs() as lines:
        given = requests.get(buffer_server.url + "/healthz", headers={"X-Request-Id": "abc-123"})
        made = requests.get(buffer_server.url + "/no/such/path?secret=1")
    assert given.headers["X-Request-Id"] == "abc-123"
    assert len(made.headers["X-Request-Id"]) == 32
    first, second = access_entries(lines)
    assert first["method"] == "GET" and first["path"] == "/healthz" and first["status"] == 200
    assert first["request_id"] == "abc-123" and first["duration_ms"] >= 0
    assert second["path"] == "/no/such/path" and second["status"] == 404
    assert second["request_id"] == made.headers["X-Request-Id"]
    assert "secret" not in "".join(lines), "the query string is never logged"


def test_an_unsafe_request_id_is_replaced(buffer_server):
    with json_logs() as lines:
        response = requests.get(buffer_server.url + "/healthz", headers={"X-Request-Id": "x" * 65})
    assert response.headers["X-Request-Id"] != "x" * 65
    assert access_entries(lines)[0]["request_id"] == response.headers["X-Request-Id"]


def test_tokens_and_passwords_never_reach_the_log(start_buffer, buffer_settings):
    settings = dataclasses.replace(buffer_settings, ingest_tokens=(TOKEN,))
    server = start_buffer(settings)
    secrets = (TOKEN, settings.api_password)
    with json_logs(secrets=secrets) as lines:
        path = f"/api/v1/notifications/set/{TOKEN}?{report_query()}"
        assert requests.get(server.url + path).json()["result"] == "stored"
        query = report_query(orderID="2", token=TOKEN)
        assert requests.get(f"{server.url}/api/v1/notifications/set?{query}").ok
        assert (
            requests.get(server.url + "/api/v1/notifications/set/wrong-token-123456").status_code
            == 404
        )
        assert requests.get(server.url + "/api/v1/notifications/get", auth=server.auth).ok
        logging.getLogger("smsbounce.test").info("oops %s %s", TOKEN, settings.api_password)
    text = "\n".join(lines)
    assert TOKEN not in text and settings.api_password not in text
    assert "wrong-token" not in text
    paths = [e["path"] for e in access_entries(lines)]
    assert paths[0] == "/api/v1/notifications/set/[redacted]"
    assert paths[2] == "/api/v1/notifications/set/[redacted]"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/api/v1/notifications/set/abc", "/api/v1/notifications/set/[redacted]"),
        ("/api/v1/notifications/set/abc/more", "/api/v1/notifications/set/[redacted]/more"),
        ("/api/v1/providers/twilio/report/abc", "/api/v1/providers/twilio/report/[redacted]"),
        ("/api/v1/notifications/set", "/api/v1/notifications/set"),
        ("/api/v1/notifications/get", "/api/v1/notifications/get"),
    ],
)
def test_token_segment_of_a_path_is_redacted(path, logged):
    assert redact_path(path) == logged


def _line(formatter, message, *args, **fields):
    record = logging.LogRecord("smsbounce.x", logging.INFO, __file__, 1, message, args, None)
    record.fields = fields
    return formatter.format(record)


def test_phone_numbers_are_masked_unless_asked_for():
    masked = json.loads(_line(JsonFormatter(), "report for %s", NUMBER, recipient="4915112345678"))
    assert masked["message"] == f"report for {mask_number(NUMBER)}"
    assert masked["recipient"] == mask_number("4915112345678")
    assert NUMBER[3:-2] not in json.dumps(masked)
    shown = json.loads(_line(JsonFormatter(show_numbers=True), "report for %s", NUMBER))
    assert shown["message"] == f"report for {NUMBER}"
    assert mask_number(NUMBER) == "+49*********78"


def test_control_characters_are_escaped_and_every_line_is_one_json_object(buffer_server):
    with json_logs() as lines:
        requests.get(buffer_server.url + "/evil%0Aline%1B[31m%7F%C2%85end")
        logging.getLogger("smsbounce.test").warning("text\nwith\x1b[0m\x7f\x85 controls")
    assert len(lines) == 2
    for line in lines:
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in line), repr(line)
    access, other = entries(lines)
    assert access["path"] == "/evil\nline\x1b[31m\\u007f\\u0085end"
    assert other["message"].startswith("text\nwith\x1b[0m")


def test_serve_writes_json_lines_only(db_url):
    # Both databases: the access line of a report answered on the event loop is written once
    # its batch is committed (logs.Turn), by psycopg on PostgreSQL, on a thread on SQLite.
    env = {
        "SMSBOUNCE_DATABASE_URL": db_url,
        "SMSBOUNCE_API_PASSWORD": "pw-for-the-log-test",
        "SMSBOUNCE_INGEST_TOKENS": TOKEN,
    }
    with ServeProcess(env, "--workers", "1") as server:
        path = f"/api/v1/notifications/set/{TOKEN}?{report_query(msisdn=NUMBER)}"
        response = requests.get(server.url + path, headers={"X-Request-Id": "serve-1"})
        assert response.json()["result"] == "stored"
        assert requests.get(server.url + "/metrics", auth=server.auth).ok
        assert server.stop() == 0
    printed = [line for line in server.output if line.startswith("{")]
    plain = [line for line in server.output if not line.startswith("{")]
    # Besides the JSON lines: the schema's migrations, what it serves (database, profiles,
    # ingest, retention) and where it listens.
    said = (
        "schema migrated",
        "database: ",
        "profiles: ",
        "ingest: ",
        "retention: ",
        "listening on",
    )
    assert all(any(word in line for word in said) for line in plain), plain
    logged = [json.loads(line) for line in printed]
    [access] = [e for e in logged if e.get("request_id") == "serve-1"]
    assert access["path"] == "/api/v1/notifications/set/[redacted]" and access["status"] == 200
    assert any(e["logger"] == "_granian" for e in logged), "the HTTP server's own lines are JSON"
    text = "".join(server.output)
    assert TOKEN not in text and "pw-for-the-log-test" not in text and NUMBER not in text


@pytest.mark.parametrize(
    ("text", "logged"),
    [
        ("to +4915112345678.", "to +49*********78."),
        ("to 004915112345678,", "to 0049*********78,"),
        ("to 4915112345678", "to 49*********78"),
        ("/x/%2B4915112345678/y", "/x/%2B49*********78/y"),
        ("msisdn=491511234567&x", "msisdn=49********67&x"),
        ("pid 4242, port 8080, 1234567 rows", "pid 4242, port 8080, 1234567 rows"),
        ("request 7f3e4915112345678a", "request 7f3e4915112345678a"),
        ("+491", "+491"),
    ],
    ids=[
        "plus",
        "double-zero",
        "bare",
        "url-encoded",
        "in-a-query",
        "short-runs",
        "in-an-id",
        "too-short",
    ],
)
def test_numbers_are_masked_in_every_form_and_nothing_else_is(text, logged):
    assert mask_numbers(text) == logged


@pytest.mark.parametrize(
    ("text", "logged"),
    [
        (
            "GET /api/v1/notifications/set?msisdn=1&status=x HTTP/1.1",
            "GET /api/v1/notifications/set?[redacted] HTTP/1.1",
        ),
        ("line: 'GET /x?a=b\\x01 HTTP/1.1'", "line: 'GET /x?[redacted] HTTP/1.1'"),
        ("http://host:8080/p?token=abc", "http://host:8080/p?[redacted]"),
        ("is it? yes", "is it? yes"),
    ],
    ids=["request-line", "quoted", "url", "prose"],
)
def test_query_strings_are_cut_from_any_line(text, logged):
    assert strip_queries(text) == logged


@pytest.mark.parametrize(
    "value",
    [
        "+491234",
        "+49123",
        "00491234",
        "%2B491234",
        "12345678",
        "1234567",
        "x 123456 y",
        "/p?q",
        "?",
        "end\x7f",
        "c1\x85",
        "c1\x9f",
        "\xa0 not a control",
        "Ärger 12345",
        "GET /api/v1/notifications/set 200",
        "2026-12-01T20:14:47.123Z",
    ],
)
def test_every_field_is_cleaned_as_the_full_passes_clean_it(value):
    expected = mask_numbers(strip_queries(value))
    expected = "".join(f"\\u{ord(c):04x}" if 0x7F <= ord(c) <= 0x9F else c for c in expected)
    line = json.loads(_line(JsonFormatter(), "%s", value, path=value, recipient=value))
    assert line["message"] == line["path"] == expected
    assert line["recipient"] == mask_number(strip_queries(value))


def test_a_request_id_made_here_is_a_random_uuid_in_hex():
    made = {request_id(None) for _ in range(1000)}  # random bytes are read 256 ids ahead
    assert len(made) == 1000
    for rid in made:
        assert len(rid) == 32 and uuid.UUID(hex=rid).hex == rid
        assert uuid.UUID(hex=rid).version == 4 and uuid.UUID(hex=rid).variant == uuid.RFC_4122
    assert request_id("abc-123") == "abc-123" and request_id("x" * 65) not in made


def test_a_forked_worker_never_makes_its_parents_next_request_id():
    """Random bytes are read ahead; a worker forked from the master must not reuse the ones the
    master had left, or two workers would give two requests the same id."""
    request_id(None)  # the read-ahead now holds unused bytes
    heard, told = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        try:  # whatever happens, the child never returns into pytest
            os.write(told, request_id(None).encode())
        finally:
            os._exit(0)
    os.close(told)
    try:
        in_child = os.read(heard, 64).decode()
    finally:
        os.close(heard)
        os.waitpid(child, 0)
    assert len(in_child) == 32 and in_child != request_id(None)


@pytest.fixture
def access_log():
    """``into(stream, formatter, *more)``: the access logger writes to ``stream`` alone (or
    beside ``more`` handlers, which sends its records through ``logging``); put back after."""
    log = logging.getLogger(ACCESS_LOGGER)
    saved = (log.handlers[:], log.propagate, log.level)

    def into(stream, formatter, *more):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        log.handlers = [handler, *more]

    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        yield into
    finally:
        log.handlers, log.propagate = saved[:2]
        log.setLevel(saved[2])


def _without_time(text: str) -> str:
    """Lines with their time blanked: lines written a moment apart compare equal."""
    return re.sub(r'(?m)^\{"time": "[^"]+"', '{"time": ""', text)


@pytest.mark.parametrize(
    ("path", "rid"),
    [
        ("/api/v1/notifications/set/s3cr3t-ingest-token", "req-1"),
        ("/api/v1/providers/+4915112345678/report", "12345678"),
        ("/healthz", "a.b:c-d_e"),
        ("/p\x7fq\x85/\xa0Ärger", "x" * 64),
        ("/api/v1/notifications/get?page=1", "0049151123456"),
        ('/quote"back\\slash', "ok"),
    ],
)
def test_an_access_line_written_straight_is_the_line_logging_writes(path, rid, access_log):
    """Under ``serve`` the access line skips logging's record (``RequestLog.record``); what it
    writes must be, byte for byte, what the formatter writes of the record."""
    formatter = JsonFormatter(secrets=("s3cr3t-ingest-token",))
    straight, through_logging = io.StringIO(), io.StringIO()
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "REMOTE_ADDR": "10.0.0.7"}
    access_log(straight, formatter)
    RequestLog(None).record(environ, "404", 0.0123456, rid)
    # A second handler: the record goes through logging, as under pytest's capture.
    access_log(through_logging, formatter, logging.NullHandler())
    RequestLog(None).record(environ, "404", 0.0123456, rid)

    for text in (straight.getvalue(), through_logging.getvalue()):
        assert text.endswith("\n") and text.count("\n") == 1
    assert _without_time(straight.getvalue()) == _without_time(through_logging.getvalue())
    assert json.loads(straight.getvalue())["status"] == 404


@pytest.mark.parametrize(
    "created",
    [
        0.0,
        1765108162.0,
        1765108162.0005,
        1765108162.9994999,
        1765108162.9995,
        1765108162.9999996,
        1765108162.123456,
        4102444799.999,
        1e9 + 0.5,
    ],
)
def test_the_time_stamp_is_what_datetime_writes(created):
    expected = datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds")
    assert utc_stamp(created) == expected.replace("+00:00", "Z")
    assert utc_stamp(created) == utc_stamp(created)  # the cached second gives the same


_JSON_SCALARS = (
    st.text()
    | st.integers()
    | st.floats()  # NaN and the infinities too: json.dumps writes NaN, Infinity
    | st.booleans()
    | st.none()
)


@given(
    message=st.text(),
    fields=st.dictionaries(
        st.text(), _JSON_SCALARS | st.lists(_JSON_SCALARS, max_size=3), max_size=6
    ),
)
def test_a_line_is_what_json_dumps_writes_of_what_it_holds(message, fields):
    """Lines are encoded member by member (``logs._json_value``) rather than with ``json.dumps``
    (an encoder built per call): the result must be what ``json.dumps`` writes of the same
    object, key order included, with every character outside ASCII escaped."""
    formatter = JsonFormatter(show_numbers=True)
    line = formatter.line(1765108162.5, "INFO", "smsbounce.x", message, fields)
    entry = {"time": "2025-12-07T11:49:22.500Z", "level": "info", "logger": "smsbounce.x"}
    entry = {**entry, "message": message, **fields}
    cleaned = {name: formatter._clean(name, value) for name, value in entry.items()}
    assert line == json.dumps(cleaned, ensure_ascii=True)
    assert line.isascii() and "\n" not in line


def test_access_lines_of_one_turn_of_the_event_loop_reach_the_stream_in_one_write(access_log):
    """The event loop's intake hands its access lines to a ``Turn``: the answers one commit
    releases are logged with one write, in the order they were answered, each line the same."""
    writes: list[str] = []

    class Stream(io.StringIO):
        def write(self, text):
            writes.append(text)
            return super().write(text)

    at_once = io.StringIO()

    def environ(n):
        return {"REQUEST_METHOD": "GET", "PATH_INFO": f"/p{n}", "REMOTE_ADDR": "10.0.0.7"}

    async def one_turn():
        lines = Turn(asyncio.get_running_loop(), observe_all=print)
        for n in range(3):
            RequestLog(None).record(environ(n), "200", 0.001, f"r{n}", lines)
        held = list(writes)
        await asyncio.sleep(0)  # the turn ends
        after_turn = list(writes)
        RequestLog(None).record(environ(3), "200", 0.001, "r3", lines)
        lines.flush()  # what the intake's close() does with the last turn's lines
        return held, after_turn

    access_log(Stream(), JsonFormatter())
    held, after_turn = asyncio.run(one_turn())
    access_log(at_once, JsonFormatter())
    for n in range(4):
        RequestLog(None).record(environ(n), "200", 0.001, f"r{n}")

    assert held == [] and len(after_turn) == 1 and len(writes) == 2
    assert [json.loads(line)["request_id"] for line in "".join(writes).splitlines()] == [
        "r0",
        "r1",
        "r2",
        "r3",
    ]
    assert _without_time("".join(writes)) == _without_time(at_once.getvalue())


_NOISY = "0123456789?/+%2Bab \x85\x7fä"  # digits, queries, plus signs, DEL, a C1 control, ä


@given(
    value=st.text(_NOISY, max_size=30),
    secrets=st.lists(st.text(_NOISY, min_size=1, max_size=8), max_size=3),
)
# Letters and digits only, as request ids are: a number alone is masked, one within is not.
@example(value="12345678", secrets=[])
@example(value="0049123456", secrets=[])
@example(value="ab12345678", secrets=[])
@example(value="b1234567890a", secrets=["890"])
def test_a_value_is_cleaned_as_if_every_pass_ran_on_it(value, secrets):
    """The formatter runs its passes only on a value one of them would change (one search,
    secrets included): the result must be what running every pass on every value gives."""
    expected = value
    for secret in secrets:
        expected = expected.replace(secret, "[redacted]")
    expected = mask_numbers(strip_queries(expected))
    expected = "".join(f"\\u{ord(c):04x}" if 0x7F <= ord(c) <= 0x9F else c for c in expected)
    line = json.loads(_line(JsonFormatter(secrets=secrets), "%s", value, path=value))
    assert line["message"] == line["path"] == expected


def test_a_formatter_that_keeps_members_writes_what_a_fresh_one_writes():
    """``JsonFormatter`` keeps the members it made (most repeat from line to line) and forgets
    them all now and then: a line is the same whether its members were kept, made or forgotten."""
    kept = JsonFormatter(secrets=("s3cret",))
    for _ in range(2):
        for n in range(700):  # more than are kept: forgotten once at least
            k = n % 350
            path = [f"/p/{k}?q=1", f"+4915112{k:06d}", f"s3cret-{k}", f"id{k}"][n % 4]
            line = (1765108162.5, "INFO", "smsbounce.x", f"m {n % 7}", {"path": path, "to": NUMBER})
            assert kept.line(*line) == JsonFormatter(secrets=("s3cret",)).line(*line)
