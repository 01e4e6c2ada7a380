"""AWS End User Messaging SMS through Amazon SNS: the declarative profile plus SNS's handshake.

Before any event, SNS posts a ``SubscriptionConfirmation`` whose ``SubscribeURL`` must be
visited. The buffer does not visit it: a request to an unauthenticated endpoint must not make
the buffer call out (and SNS messages are not signature-checked here). It answers 200 and logs,
as a warning, exactly what the operator does to confirm — open the URL, or run the AWS CLI
command given — once it has checked that the URL is SNS's own (https, ``sns.<region>.
amazonaws.com``); a handshake naming any other host cannot be SNS's and is refused with a 400.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import InvalidParameter
from .base import Incoming
from .generic import GenericProfile

log = logging.getLogger("smsbounce.buffer")

HANDSHAKES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")
# SNS's regional endpoints (the China regions end in .amazonaws.com.cn).
SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")


def sns_url(url: Any) -> bool:
    """Whether ``url`` is an https URL on an Amazon SNS host (no user, no port)."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.port is None
        and parts.username is None
        and SNS_HOST.fullmatch(parts.hostname or "") is not None
    )


class AwsSms(GenericProfile):
    def handshake(self, incoming: Incoming) -> dict[str, Any] | None:
        """SNS's subscription handshakes: 200 and the operator told what to do; 400 for one
        whose SubscribeURL is not an SNS address. None for a notification (an event)."""
        body = incoming.json
        if not isinstance(body, Mapping) or body.get("Type") not in HANDSHAKES:
            return None
        kind, topic, url = body["Type"], str(body.get("TopicArn", "")), body.get("SubscribeURL")
        if not sns_url(url):
            raise InvalidParameter(
                "SubscribeURL",
                "SubscribeURL must be an https URL on sns.<region>.amazonaws.com: "
                "this handshake is not from Amazon SNS",
            )
        token = str(body.get("Token", ""))
        if kind == "SubscriptionConfirmation":
            log.warning(
                "%s: Amazon SNS asks to confirm the subscription of this endpoint to topic %s; "
                "no event arrives before it is confirmed (within 3 days). Open %s , or run: "
                "aws sns confirm-subscription --topic-arn %s --token %s",
                self.name,
                topic,
                url,
                topic,
                token,
            )
            action = "confirm it: the buffer's log names the SubscribeURL to open"
        else:
            log.warning(
                "%s: Amazon SNS deactivated the subscription of this endpoint to topic %s; "
                "to restore it, open %s",
                self.name,
                topic,
                url,
            )
            action = "the subscription was deactivated; the buffer's log says how to restore it"
        return {"result": "acknowledged", "handshake": kind, "topicArn": topic, "action": action}

    def describe(self):
        return {
            **super().describe(),
            "handshake": "SubscriptionConfirmation logged for the operator",
        }
