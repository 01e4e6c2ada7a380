"""Twilio: the declarative profile plus the ``X-Twilio-Signature`` check.

Twilio signs the full URL it called followed by every POST parameter (name + value, sorted by
name) with HMAC-SHA1 under the account's auth token, base64-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from .base import Incoming
from .generic import GenericProfile


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Twilio(GenericProfile):
    def __init__(self, document, source: str, auth_token: str | None):
        super().__init__(document, source)
        self.auth_token = auth_token

    def authenticate(self, incoming: Incoming) -> str | None:
        if not self.auth_token:
            return None
        given = incoming.headers.get("x-twilio-signature")
        if not given:
            return "X-Twilio-Signature is missing"
        expected = signature(self.auth_token, incoming.url, incoming.raw_form)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return "X-Twilio-Signature does not match (check SMSBOUNCE_PUBLIC_URL and the token)"
        return None

    def describe(self):
        return {**super().describe(), "signature": "checked" if self.auth_token else "not checked"}
