"""Helpers of the operations tests: captured JSON log lines, parsed Prometheus samples."""

from __future__ import annotations

import contextlib
import io
import json
import logging

import requests
from prometheus_client.parser import text_string_to_metric_families

from buffer.logs import JsonFormatter


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
