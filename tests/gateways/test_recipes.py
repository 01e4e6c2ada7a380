"""Every built-in profile's documented recipe (docs/providers.md), used verbatim: a hard and a
soft bounce in that provider's own format, sent to the documented callback URL of a live buffer,
must be taken and served as the provider's ground truth says (the DI simulator's formats, which
never import the buffer). Kannel and Jasmin are also proven against the real gateways
(test_kannel.py, test_jasmin.py); here their documented dlr-url is checked for what those
gateways need."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, quote_plus

import pytest
import requests

from smsbounce.buffer.providers import load_profiles
from smsbounce.buffer.settings import Settings
from smsbounce.simulators.di.formats import ReportContext, Request, make_format
from smsbounce.simulators.di.scenario import PlannedReport
from tests.buffer.providers import (
    test_46elks,
    test_aws_sms,
    test_bandwidth,
    test_bird,
    test_clickatell,
    test_gatewayapi,
    test_plivo,
    test_telnyx,
)
from tests.helpers import all_bounces, twilio_signature

from .recipes import recipe, recipes

TWILIO_TOKEN = "recipe-twilio-auth-token"
CALLBACK_RECIPES = {
    "di": "di-callback",
    "twilio": "twilio-callback",
    "vonage": "vonage-callback",
    "infobip": "infobip-callback",
    "sinch": "sinch-callback",
    "kannel": "kannel-dlr-url",
    "jasmin": "jasmin-dlr-url",
    "plivo": "plivo-callback",
    "telnyx": "telnyx-webhook",
    "bird": "bird-status-url",
    "aws-sms": "aws-sms-subscription",
    "bandwidth": "bandwidth-callback",
    "clickatell": "clickatell-callback",
    "gatewayapi": "gatewayapi-webhook",
    "46elks": "46elks-whendelivered",
}
# Providers the DI simulator has no format for: a hard bounce built from their own documented
# callbacks (tests/buffer/providers), sent to the documented URL.
DOCUMENTED_BOUNCES = {
    "plivo": lambda: test_plivo.post(test_plivo.attributes("failed", "30", uuid="recipe-1")),
    "telnyx": lambda: test_telnyx.failed("delivery_failed"),
    "bird": lambda: test_bird.with_status("delivery_failed", "recipe-1"),
    "aws-sms": lambda: test_aws_sms.in_envelope(test_aws_sms.failed("TEXT_INVALID")),
    "bandwidth": lambda: test_bandwidth.FORBIDDEN,
    "clickatell": lambda: test_clickatell.post(
        test_clickatell.fields("recipe-1", 29, "RECIPIENT_DOES_NOT_EXIST", "Recipient unknown")
    ),
    "gatewayapi": lambda: test_gatewayapi.failed("REJECTED", "0x1034", "Destination blocked", 7),
    "46elks": lambda: test_46elks.report(id="recipe-1", status="failed"),
}


def test_every_built_in_profile_has_a_documented_recipe():
    settings = Settings(api_password="unused")
    assert set(load_profiles(settings)) == set(CALLBACK_RECIPES)
    assert set(CALLBACK_RECIPES.values()) <= set(recipes())


def documented_url(provider: str, host: str, number: str, message_id: str) -> str:
    url = recipe(CALLBACK_RECIPES[provider]).strip().replace("https://<host>", host)
    return url.replace("<id>", message_id).replace("<recipient>", quote(number, safe=""))


def _as_the_gateway_calls(provider: str, fmt, url: str, item):
    """The request the provider makes to ``url``. Kannel fills the documented escapes in; Jasmin
    adds its fields to the documented dlr-url, which already carries the recipient."""
    if provider == "kannel":
        values = dict(item.fields)
        for escape, name in (("%q", "to"), ("%d", "type"), ("%A", "reply"), ("%T", "ts")):
            url = url.replace(escape, quote_plus(values[name], safe=""))
        return Request("GET", url)
    if provider == "jasmin":
        item = dataclasses.replace(item, query=())
    return fmt.request(url, [item])


def _context(message_id: str, code: str, number: str) -> ReportContext:
    moment = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    planned = PlannedReport(code, "out of coverage", f"{code} out of coverage", moment, 0.0)
    return ReportContext(message_id, number, 1, "ACME", "Spring sale", moment, planned)


@pytest.mark.parametrize(
    "provider", ["di", "twilio", "vonage", "infobip", "sinch", "kannel", "jasmin"]
)
def test_the_documented_callback_takes_and_serves_the_providers_reports(
    start_buffer, buffer_settings, provider
):
    server = start_buffer(
        dataclasses.replace(
            buffer_settings, twilio_auth_token=TWILIO_TOKEN, public_url="https://bounces.test"
        )
    )
    fmt = make_format(provider)
    expected = {}
    with requests.Session() as session:
        for n, code in enumerate(("0x4503", "0xDBF3")):  # DI's hard and soft bounce
            message_id, number = f"{provider}-recipe-{n}", f"+491511234560{n}"
            context = _context(message_id, code, number)
            # Twilio signs the URL it was given: the documented one, at the public host.
            signed = documented_url(provider, "https://bounces.test", number, message_id)
            url = documented_url(provider, server.url, number, message_id)
            item = fmt.item(context)
            request = _as_the_gateway_calls(provider, fmt, url, item)
            headers = dict(request.headers)
            if provider == "twilio":
                headers["X-Twilio-Signature"] = twilio_signature(TWILIO_TOKEN, signed, item.fields)
            answer = session.request(
                request.method, request.url, data=request.body, headers=headers
            )
            assert answer.status_code == 200 and fmt.accepted(answer.status_code, answer.text), (
                answer.status_code,
                answer.text,
            )
            stored = fmt.stored(context)
            expected[message_id] = {
                "messageId": message_id,
                "recipient": stored.recipient,
                "statusCode": stored.code,
                "statusText": stored.text,
                "type": stored.type,
            }
        served = {
            b["messageId"]: {k: v for k, v in b.items() if k != "timestamp"}
            for b in all_bounces(session, server)
        }
    assert served == expected
    assert {b["type"] for b in served.values()} == {"Permanent", "Temporary"}


@pytest.mark.parametrize("provider", sorted(DOCUMENTED_BOUNCES))
def test_the_documented_url_takes_the_providers_documented_bounce(buffer_server, provider):
    url = documented_url(provider, buffer_server.url, "+4915112345678", "recipe-1")
    answer = DOCUMENTED_BOUNCES[provider]().send_to(url)
    assert answer.status_code == 200, answer.text
    [bounce] = all_bounces(requests, buffer_server)
    assert bounce["type"] == "Permanent"


def test_the_kannel_recipe_asks_for_what_kannel_needs():
    dlr_url = recipe("kannel-dlr-url")
    # %q: the recipient (%P would be the sender); %A the receipt; %d the type; %T the time.
    assert "to=%q" in dlr_url and "%P" not in dlr_url
    assert {"type=%d", "reply=%A", "ts=%T", "id=<id>"} <= set(
        dlr_url.strip().split("?")[1].split("&")
    )
    assert "dlr-mask=18" in recipe("kannel-sendsms")
    assert "sms-resend-retry" in recipe("kannel-core")
    assert "http-request-retry" in recipe("kannel-smsbox")
