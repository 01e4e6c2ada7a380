"""The checker's HTTP client: every request becomes an ``Exchange`` the checks can judge.

Transport failures are recorded, not raised, so one dead request fails its check instead of the
run; ``CouldNotRun`` is for the first request, when nothing can be judged at all (exit 2).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

USER_AGENT = "smsbounce-verify"
_ERRNO = re.compile(r"\[Errno -?[0-9]+\] ")
_CONNECTION = re.compile(r"^[A-Za-z]*Connection\(.*?\): ")


def join_query(url: str, query: str) -> str:
    """``url`` with ``query`` appended after ``?``, or ``&`` when it has a query already."""
    if not query:
        return url
    return url + ("&" if urlsplit(url).query else "?") + query


class CouldNotRun(RuntimeError):
    """The endpoint cannot be checked at all; the message is one sentence saying why."""


@dataclass(frozen=True)
class Exchange:
    """One request and its answer. ``status`` is None when no answer came (see ``error``)."""

    label: str
    status: int | None
    content_type: str = ""
    body: bytes = b""
    seconds: float = 0.0
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def document(self) -> Any:
        """The body as JSON, or None when it is not JSON (see ``json_problem``)."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeError):
            return None

    @property
    def json_problem(self) -> str | None:
        if self.status is None:
            return self.error
        try:
            json.loads(self.body)
        except (ValueError, UnicodeError) as exc:
            return f"the body is not JSON ({exc}): {self.excerpt}"
        return None

    @property
    def excerpt(self) -> str:
        text = " ".join(self.body[:120].decode("utf-8", "replace").split())[:80]
        return repr(text + ("…" if len(self.body) > 80 else ""))

    @property
    def answer(self) -> str:
        """``HTTP 400`` or the transport error, for evidence lines."""
        return f"HTTP {self.status}" if self.status is not None else f"no answer ({self.error})"


def describe_failure(url: str, exc: requests.RequestException, timeout: float) -> str:
    """One sentence about a transport failure, without credentials or query."""
    parts = urlsplit(url)
    where = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    if isinstance(exc, requests.exceptions.SSLError):
        return f"the TLS handshake with {where} failed: {_reason(exc)}"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"{where} did not answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect to {where}: {_reason(exc)}"
    return f"the request to {where} failed: {_reason(exc)}"


def _reason(exc: Exception) -> str:
    # requests nests urllib3's reason several levels deep; the innermost says what happened.
    inner: BaseException = exc
    while inner.args and isinstance(inner.args[0], BaseException):
        inner = inner.args[0]
    reason = str(getattr(inner, "reason", None) or inner).splitlines()[0]
    # "HTTPConnection(host=…): Failed to establish a new connection: [Errno 111] Connection
    # refused" says one thing a person needs: the last part.
    reason = reason.rpartition("Failed to establish a new connection: ")[2]
    return _ERRNO.sub("", _CONNECTION.sub("", reason))[:200]


class Client:
    """Requests against the status URL (with or without credentials) and the ingest URL."""

    def __init__(
        self,
        status_url: str,
        auth: tuple[str, str] | None,
        timeout: float,
        ingest_url: str | None = None,
    ):
        self.status_url = status_url
        self.ingest_url = ingest_url
        self.auth = auth
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        # Proxies and netrc from the environment would change what is being certified.
        self._session.trust_env = False

    def status(self, params: dict[str, str], auth: Any = "default", note: str = "") -> Exchange:
        """GET the status URL with ``params``; ``auth`` None sends no credentials."""
        query = urlencode(params)
        credentials = self.auth if auth == "default" else auth
        return self._get(self.status_url, query, credentials, f"GET ?{query}{note}")

    def send(
        self,
        method: str,
        url: str,
        label: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Exchange:
        """One provider request as built (no credentials, no redirects followed). The label
        never shows the URL: an ingest URL may carry a secret token."""
        return self._request(method, url, None, label, body, headers, redirects=False)

    def _get(self, url: str, query: str, auth, label: str) -> Exchange:
        full = f"{url}?{query}" if query else url
        return self._request("GET", full, auth, label, error_url=url)

    def _request(
        self,
        method: str,
        url: str,
        auth,
        label: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        redirects: bool = True,
        error_url: str | None = None,
    ) -> Exchange:
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                url,
                auth=auth,
                data=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=redirects,
            )
        except requests.RequestException as exc:
            return Exchange(
                label,
                None,
                seconds=time.monotonic() - started,
                error=describe_failure(error_url or url, exc, self.timeout),
            )
        return Exchange(
            label,
            response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            body=response.content,
            # The whole answer, body included: that is what the caller waits for.
            seconds=time.monotonic() - started,
            headers=dict(response.headers),
        )

    def close(self) -> None:
        self._session.close()
