"""Outbound HTTP(S) calls, failing the way CPI's HTTP receiver adapter fails.

Plain ``http.client`` rather than requests: the status redirect must put Marketing's query on
the wire byte for byte, and urllib3 normalises request targets (it upper-cases percent escapes,
re-encodes a lone ``%``). One fresh connection per call keeps threads independent. Nothing here
reads the environment: trust, timeouts and credentials all come from ``Settings``.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_ANSWER_BYTES = 16 * 1024 * 1024

PKIX_BUILD = (
    "javax.net.ssl.SSLHandshakeException: PKIX path building failed: "
    "sun.security.provider.certpath.SunCertPathBuilderException: "
    "unable to find valid certification path to requested target"
)
PKIX_VALIDITY = (
    "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: "
    "java.security.cert.CertPathValidatorException: validity check failed"
)
# OpenSSL's X509_V_ERR_* numbers for the cases Java words differently.
_CERT_HAS_EXPIRED, _CERT_NOT_YET_VALID = 10, 9
_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH = 62, 64


class TargetFailed(Exception):
    """The call failed; ``str()`` is the Java-flavoured text CPI would log and answer with."""


@dataclass(frozen=True)
class TargetAnswer:
    status: int
    content_type: str | None
    body: bytes


def basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def call(
    method: str,
    url: str,
    *,
    ssl_context: ssl.SSLContext,
    timeout: tuple[float, float],
    query: str | None = None,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> TargetAnswer:
    """Send one request and return the answer whatever its status; raise ``TargetFailed`` when
    no answer came (refused, timeout, untrusted certificate, broken connection).

    ``url`` has no query; ``query`` goes on the request line exactly as given, so it must
    already be valid there (printable ASCII, see ``app.wire_query``).
    """
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{query}" if query else "")
    connect_timeout, read_timeout = timeout
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=connect_timeout, context=ssl_context
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=connect_timeout)
    try:
        try:
            connection.connect()
        except OSError as exc:
            raise TargetFailed(_connect_failure(exc, parts.hostname or "")) from exc
        connection.sock.settimeout(read_timeout)
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            content = response.read(MAX_ANSWER_BYTES + 1)
        except TimeoutError as exc:
            raise TargetFailed("java.net.SocketTimeoutException: Read timed out") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise TargetFailed(f"java.net.SocketException: {_reason(exc)}") from exc
        if len(content) > MAX_ANSWER_BYTES:
            raise TargetFailed(
                f"java.io.IOException: the answer of {describe(url)} exceeds "
                f"{MAX_ANSWER_BYTES} bytes"
            )
        return TargetAnswer(response.status, response.getheader("Content-Type"), content)
    finally:
        connection.close()


def status_failure(url: str, status: int) -> str:
    """CPI's text for a target that answered with a non-2xx status."""
    return (
        "org.apache.camel.component.ahc.AhcOperationFailedException: "
        f"HTTP operation failed invoking {describe(url)} with statusCode: {status}"
    )


def describe(url: str) -> str:
    """The URL as it may appear in logs and answers: no credentials, no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _connect_failure(exc: OSError, host: str) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        if exc.verify_code in (_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH):
            return (
                "javax.net.ssl.SSLHandshakeException: java.security.cert.CertificateException: "
                f"No subject alternative names matching {host} found"
            )
        if exc.verify_code in (_CERT_HAS_EXPIRED, _CERT_NOT_YET_VALID):
            return PKIX_VALIDITY
        # Unknown issuer, self-signed, incomplete chain: Java cannot build a path to a trust
        # anchor in the keystore.
        return PKIX_BUILD
    if isinstance(exc, ssl.SSLError):
        return f"javax.net.ssl.SSLHandshakeException: {_reason(exc)}"
    if isinstance(exc, ConnectionRefusedError):
        return "java.net.ConnectException: Connection refused (Connection refused)"
    if isinstance(exc, TimeoutError):
        return "java.net.SocketTimeoutException: connect timed out"
    if isinstance(exc, socket.gaierror):
        return f"java.net.UnknownHostException: {host}"
    return f"java.net.ConnectException: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
