"""Providers' own documented callbacks (``tests/buffer/documented/<provider>.json``), sent as the
provider sends them — method, content type, query, body bytes — to a live buffer, and what the
buffer then serves to Marketing.

A test names each example by its ``source`` (a URL or ``owner/repo@commit:path``) and title;
where a provider documents no whole callback, the test builds one strictly from the documented
field list and says so next to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.helpers import all_bounces

DOCUMENTED = Path(__file__).resolve().parents[1] / "documented"


@dataclass(frozen=True)
class Callback:
    """One callback as its provider sends it."""

    source: str
    method: str
    content_type: str = ""
    query: str = ""
    body: str = ""

    def send(self, server, provider: str, query: str = "") -> requests.Response:
        url = f"{server.url}/api/v1/providers/{provider}/report"
        return self.send_to(url + ("?" + query if query else ""))

    def send_to(self, url: str) -> requests.Response:
        """Sent to ``url``, the callback's own query added to the one ``url`` has."""
        if self.query:
            url += ("&" if "?" in url else "?") + self.query
        headers = {"Content-Type": self.content_type} if self.content_type else {}
        data = self.body.encode() if self.body else None
        return requests.request(self.method, url, data=data, headers=headers)


def documented(provider: str, title: str) -> Callback:
    """The example of ``provider``'s research file whose title starts with ``title``."""
    examples = json.loads((DOCUMENTED / f"{provider}.json").read_text(encoding="utf-8"))
    for example in examples["examples"]:
        if example["title"].startswith(title):
            content_type = example["content_type"].split(" (")[0]  # "… (SNS default)"
            return Callback(
                example["source"],
                example["method"],
                content_type,
                example["query"],
                example["body"],
            )
    raise AssertionError(f"{provider}.json has no example titled {title!r}")


def served(server) -> dict[str, dict[str, str]]:
    """What Marketing reads, by message id: type, statusCode, statusText, recipient, timestamp."""
    return {
        b["messageId"]: {k: v for k, v in b.items() if k != "messageId"}
        for b in all_bounces(requests, server)
    }
