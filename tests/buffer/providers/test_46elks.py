"""46elks: delivery reports over HTTP, on SQLite and PostgreSQL, at the documented recipe's URL
(docs/providers.md: the recipient in the whendelivered URL's query).

46elks documents no whole report, only its fields (https://46elks.se/docs/sms-delivery-reports:
id, status sent/delivered/failed, delivered — the time, only when delivered — as a form POST);
searches of its docs and code found no example. The reports here are built strictly from that
list.
"""

from urllib.parse import quote, urlencode

from smsbounce.buffer.raw_requests import FORM

from .documented import Callback, served

SOURCE = "https://46elks.se/docs/sms-delivery-reports"
RECIPIENT = quote("+46700000000", safe="")


def report(**fields) -> Callback:
    return Callback(SOURCE, "POST", FORM, body=urlencode(fields))


def test_reports_at_the_recipe_url(buffer_server):
    to = f"to={RECIPIENT}"
    delivered = report(id="s1", status="delivered", delivered="2018-07-13T13:57:23.741000")
    assert delivered.send(buffer_server, "46elks", to).json()["result"] == "acknowledged"
    assert (
        report(id="s2", status="sent").send(buffer_server, "46elks", to).json()["result"]
        == "acknowledged"
    )
    assert (
        report(id="s3", status="failed").send(buffer_server, "46elks", to).json()["result"]
        == "stored"
    )
    [(message_id, bounce)] = served(buffer_server).items()
    assert message_id == "s3"
    assert {k: bounce[k] for k in ("recipient", "statusCode", "type")} == {
        "recipient": "+46700000000",
        "statusCode": "",
        "type": "Permanent",
    }
    assert bounce["statusText"].startswith("Not delivered: 46elks reports the message failed")


def test_a_failure_without_the_recipient_in_the_url_is_quarantined_not_lost(buffer_server):
    answer = report(id="s4", status="failed").send(buffer_server, "46elks")
    assert answer.json() == {"result": "quarantined", "messageId": "s4"}
    assert served(buffer_server) == {}
