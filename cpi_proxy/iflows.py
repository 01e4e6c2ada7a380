"""The two emulated iFlows, without HTTP serving: status redirect and SMS send.

Routes in ``app.py`` call these; failures of a target raise ``TargetFailed`` (answered as CPI's
HTTP 500), bad packages raise ``BadPackage`` (answered 400).
"""

from __future__ import annotations

import json
import re
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from smsbounce import contracts

from .di_send import Order, OrderAccepted, UnexpectedAnswer, parse_answer, write_body
from .outbound import TargetAnswer, TargetFailed, basic_auth, call, describe, status_failure
from .settings import Settings

REQUEST_CONTRACT = "marketing-send-request"
RESPONSE_CONTRACT = "marketing-send-response"
MAX_PACKAGE_BYTES = 4 * 1024 * 1024
_REPORTED_PROBLEMS = 5
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REQUIRED = re.compile(r"^'([^']+)' is a required property")


class BadPackage(ValueError):
    """The send package is unusable; ``parameter`` is the JSON path at fault, if one is."""

    def __init__(self, message: str, parameter: str | None = None):
        super().__init__(message)
        self.parameter = parameter


def wire_query(raw: str) -> str:
    """The WSGI ``QUERY_STRING`` as it goes on the outgoing request line.

    WSGI hands over the request's bytes decoded as latin-1; encoding back gives those bytes.
    They pass unchanged (percent escapes keep their case, ``+`` stays ``+``), except bytes that
    cannot stand in a request line at all (controls, space, non-ASCII), which are
    percent-encoded; a conforming client never sends those.
    """
    return "".join(
        chr(byte) if 0x21 <= byte <= 0x7E else f"%{byte:02X}" for byte in raw.encode("latin-1")
    )


def relay_status(settings: Settings, context: ssl.SSLContext, raw_query: str) -> TargetAnswer:
    """Forward Marketing's status pull to the buffer's ``get`` with the proxy's own credentials.
    Returns a 2xx answer unchanged; anything else fails the exchange (``TargetFailed``)."""
    url = settings.buffer_status_url
    answer = call(
        "GET",
        url,
        query=wire_query(raw_query),
        headers={"Authorization": basic_auth(settings.buffer_user, settings.buffer_password)},
        ssl_context=context,
        timeout=settings.timeout,
    )
    if not 200 <= answer.status < 300:
        raise TargetFailed(status_failure(url, answer.status))
    return answer


def read_package(body: bytes) -> dict[str, Any]:
    """The send package, checked against ``marketing-send-request``; ``BadPackage`` otherwise."""
    if len(body) > MAX_PACKAGE_BYTES:
        raise BadPackage(f"the package is larger than {MAX_PACKAGE_BYTES} bytes")
    try:
        package = json.loads(body)
    except (ValueError, UnicodeError) as exc:
        raise BadPackage(f"the body is not JSON: {exc}") from None
    problems = contracts.problems(REQUEST_CONTRACT, package)
    if problems:
        shown = "; ".join(problems[:_REPORTED_PROBLEMS])
        more = len(problems) - _REPORTED_PROBLEMS
        raise BadPackage(
            f"the package breaks contract {REQUEST_CONTRACT}: {shown}"
            + (f" (and {more} more)" if more > 0 else ""),
            _parameter(problems[0]),
        )
    for index, message in enumerate(package["messages"]):
        # The sender goes into a line of DI's body; a line break there would add INI lines.
        if _CONTROL.search(message["sender"]):
            raise BadPackage(
                "sender must not contain control characters", f"messages[{index}].sender"
            )
    return package


def send_package(
    settings: Settings, context: ssl.SSLContext, package: dict[str, Any]
) -> dict[str, Any]:
    """One DI order per message, ``send_concurrency`` at a time; the answer maps each message
    to its ORDERID (``accepted``) or DI's error code (``rejected``), in the package's order.

    A target failure (refused, timeout, TLS, non-2xx without a DI error code) fails the whole
    exchange, as CPI does: orders not yet started are not sent, and ``TargetFailed`` is raised.
    """
    messages = package["messages"]
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if settings.provider_user is not None:
        headers["Authorization"] = basic_auth(settings.provider_user, settings.provider_password)

    def send(message: dict[str, str]) -> dict[str, str]:
        order = Order(
            subject=message["messageId"],
            recipient=message["recipient"],
            text=message["text"],
            sender=settings.sender or message["sender"],
            ack_reply_address=settings.ack_reply_address,
        )
        answer = call(
            "POST",
            settings.provider_url,
            headers=headers,
            body=write_body(order).encode("utf-8"),
            ssl_context=context,
            timeout=settings.timeout,
        )
        return _result(settings.provider_url, message["messageId"], answer)

    workers = min(settings.send_concurrency, len(messages))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="di-send") as pool:
        futures = [pool.submit(send, message) for message in messages]
        try:
            results = [future.result() for future in futures]
        except TargetFailed:
            for future in futures:
                future.cancel()
            raise
    return contracts.validate(RESPONSE_CONTRACT, {"version": "1", "results": results})


def _result(url: str, message_id: str, answer: TargetAnswer) -> dict[str, str]:
    success = 200 <= answer.status < 300
    try:
        outcome = parse_answer(answer.body.decode("utf-8", errors="replace"))
    except UnexpectedAnswer as exc:
        if not success:
            raise TargetFailed(status_failure(url, answer.status)) from None
        raise TargetFailed(
            f"java.lang.IllegalStateException: unexpected answer from {describe(url)}: {exc}"
        ) from None
    if isinstance(outcome, OrderAccepted):
        if not success:
            raise TargetFailed(status_failure(url, answer.status))
        return {
            "messageId": message_id,
            "status": "accepted",
            "providerMessageId": outcome.order_id,
        }
    # DI refused this order (e.g. 6019 bad number): a result for Marketing, not a failed exchange.
    return {
        "messageId": message_id,
        "status": "rejected",
        "errorCode": outcome.code,
        "errorText": outcome.text,
    }


def _parameter(problem: str) -> str | None:
    """``$.messages[0].recipient: …`` → ``messages[0].recipient``; a missing key is named with
    its parent's path; a problem with the whole document names nothing."""
    path, _, message = problem.partition(": ")
    path = path.removeprefix("$").removeprefix(".")
    required = _REQUIRED.match(message)
    if required:
        return f"{path}.{required.group(1)}" if path else required.group(1)
    return path or None
