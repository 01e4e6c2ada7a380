"""Helpers of the operations tests: captured JSON log lines, parsed Prometheus samples."""

from __future__ import annotations

import contextlib
import io
import json
import logging

import requests
from prometheus_client.parser import text_string_to_metric_families

from smsbounce.buffer.logs import JsonFormatter


@contextlib.contextmanager
def json_logs(**formatter_options):
    """Capture what the buffer logs, formatted as ``smsbounce serve`` formats it.

    Yields a list that fills with raw lines; ``entries(lines)`` parses them.
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**formatter_options))
    root = logging.getLogger("smsbounce")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    lines: list[str] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        lines.extend(stream.getvalue().splitlines())


def entries(lines: list[str]) -> list[dict]:
    """Every line must be one JSON object."""
    return [json.loads(line) for line in lines]


def access_entries(lines: list[str]) -> list[dict]:
    return [e for e in entries(lines) if e["logger"] == "smsbounce.access"]


def scrape(server, auth=None) -> dict[tuple[str, tuple], float]:
    """``/metrics`` as ``{(sample name, sorted labels): value}``."""
    response = requests.get(server.url + "/metrics", auth=auth or server.auth, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    """One sample's value; 0 when the series does not exist yet."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# ---------------------------------------------------------------------------------------------
# Databases that are really empty (the shared fixtures migrate theirs), and rows of a chosen age.

import os  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

from smsbounce.buffer import models  # noqa: E402
from tests.testenv import PG_URL_VARIABLE  # noqa: E402

FRESH_BACKENDS = ["sqlite", "postgres"]


def fresh_database(request, tmp_path):
    """Body of a ``fresh_db_url`` fixture (params ``FRESH_BACKENDS``): a database without any
    table, on each backend (PostgreSQL: a database of its own, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    request.getfixturevalue("pg_server_url")  # skips, or fails under CI, without PostgreSQL
    import psycopg

    admin_url = os.environ[PG_URL_VARIABLE]
    admin = psycopg.connect(admin_url, connect_timeout=5, autocommit=True)
    name = f"smsbounce_fresh_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def insert_bounces(store, rows: list[tuple[str, int]]) -> None:
    """Bounces ``(messageId, ingestedAt µs)`` written directly, as if received long ago."""
    model = store._model
    with store.database.connection_context(), store.database.atomic():
        for start in range(0, len(rows), 500):
            model.insert_many(
                [
                    {
                        "message_id": message_id,
                        "recipient": "+4915112345678",
                        "status_code": "0x4503",
                        "status_text": "out of coverage",
                        "type": "Permanent",
                        "timestamp": "20260101000000",
                        "ingested_at": ingested_at,
                        "provider": "di",
                    }
                    for message_id, ingested_at in rows[start : start + 500]
                ]
            ).execute()


def message_ids(store) -> set[str]:
    model = store._model
    with store.database.connection_context():
        return {row.message_id for row in model.select(model.message_id)}


def legacy_table(url: str) -> None:
    """The ``notifications`` table as releases before migrations created it (schema version 1)."""
    from smsbounce.buffer import db

    database = db.connect(url, 5)
    with database.connection_context():
        database.create_tables([models.bind(database)])
    database.close_all()


# ---------------------------------------------------------------------------------------------
# Headless Chromium (Debian's `chromium`), for what a person sees on the status page.

from urllib.parse import quote  # noqa: E402

from tests import browser  # noqa: E402


def browse(url: str, auth: tuple[str, str], *, screenshot: str | None = None) -> str:
    """Open ``url`` with basic auth in headless Chromium; return the DOM it rendered."""
    scheme, rest = url.split("://", 1)
    user, password = (quote(part, safe="") for part in auth)
    with_auth = f"{scheme}://{user}:{password}@{rest}"
    if screenshot:
        browser.run(with_auth, f"--screenshot={screenshot}")
    return browser.run(with_auth, "--dump-dom").stdout


def visible_text(dom: str) -> str:
    """The page's text as a reader sees it: no markup, no style, whitespace collapsed."""
    import html
    import re

    dom = re.sub(r"(?s)<(style|script|head)\b.*?</\1>", " ", dom)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())


def fill_for_status_page(session, server) -> None:
    """A morning's traffic: hard and soft bounces, deliveries, a duplicate, a bad report, and a
    Jasmin receipt without the recipient its dlr-url should have carried (quarantined)."""
    from tests.helpers import ingest, report_query, send

    reports = [
        (
            "4711000001",
            "+4915112345678",
            "0x4503 Message 1 at destination of +4915112345678 is out of coverage",
        ),
        ("4711000002", "+4917098765432", "0xDBF3 Provider is retrying"),
        ("4711000003", "+4915255501234", "0xDB78 Out of credit"),
        ("4711000004", "+436641234567", "0x451A delivered"),
        ("4711000005", "+41791234567", "0x450E accepted"),
        ("4711000006", "+4915112340000", "0x4524 <script>alert('blacklisted')</script>"),
    ]
    for message_id, number, status in reports:
        send(session, server, message_id, msisdn=number, status=status)
    send(session, server, "4711000003", msisdn="+4915255501234", status="0xDB78 Out of credit")
    ingest(session, server, report_query(msisdn="not-a-number"))
    answer = session.post(
        server.url + "/api/v1/providers/jasmin/report",
        data={"id": "jas-0001", "message_status": "UNDELIV", "level": "2", "err": "001"},
    )
    assert answer.text == "ACK/Jasmin", answer.text


def make_screenshot(path: str) -> None:
    """Draw the status page of a buffer with a morning's traffic into ``path`` (PNG)."""
    import tempfile as _tempfile

    from smsbounce.buffer.app import create_app
    from smsbounce.buffer.store import Store
    from smsbounce.plumbing.local_server import LocalServer
    from tests.testenv import settings_for

    with _tempfile.TemporaryDirectory() as folder:
        settings = settings_for(f"sqlite:///{folder}/status.db")
        store = Store.open(settings)
        store.create_tables()
        auth = (settings.api_user, settings.api_password)
        with LocalServer(create_app(settings, store)) as server:
            fill_for_status_page(requests.Session(), server)
            vonage = server.url + "/api/v1/providers/vonage/report"
            for number, (status, code) in enumerate((("failed", "2"), ("failed", "12"))):
                requests.get(
                    vonage,
                    params={
                        "messageId": f"v-{number}",
                        "msisdn": "4915112345678",
                        "scts": "2612011015",
                        "status": status,
                        "err-code": code,
                    },
                )
            requests.get(
                server.url + "/api/v1/notifications/get",
                auth=auth,
                params={"page": "0", "sourceSystem": "MKT"},
            )
            # Taller than the tests' window: the docs show the chart, the polls and the mapping.
            user, password = (quote(part, safe="") for part in auth)
            page = server.url.replace("://", f"://{user}:{password}@") + "/"
            browser.run(page, f"--screenshot={path}", "--window-size=1200,1500")
        store.close()


if __name__ == "__main__":  # python -m tests.buffer.ops_helpers docs/status-page.png
    import sys

    make_screenshot(sys.argv[1])
