"""``/metrics``: Prometheus text from the official client, behind the Marketing user's basic
auth; what happened to every report, latency per route, database errors; every worker's counts."""

import dataclasses

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from smsbounce.buffer.app import create_app
from smsbounce.buffer.logs import ENDPOINT, Answered
from smsbounce.buffer.metrics import LATENCY_BUCKETS, Metrics
from smsbounce.buffer.reports import Result
from smsbounce.buffer.verdicts import Taken, Verdict
from smsbounce.plumbing.local_server import LocalServer
from tests.buffer.ops_helpers import scrape, value
from tests.helpers import assert_json_error, ingest, report_query, send
from tests.serve_process import ServeProcess
from tests.testenv import settings_for

TOKEN = "metrics-token-0123456789"


def test_metrics_need_the_marketing_credentials(buffer_server):
    response = requests.get(buffer_server.url + "/metrics")
    assert_json_error(response, 401)
    assert "WWW-Authenticate" in response.headers
    assert_json_error(requests.get(buffer_server.url + "/metrics", auth=("marketing", "no")), 401)


def test_every_outcome_is_counted(buffer_server):
    s = requests.Session()
    assert send(s, buffer_server, "m1", status="0xDBF3 retrying") == "stored"
    assert send(s, buffer_server, "m1", status="0xDBF3 retrying") == "ignored"  # duplicate
    assert send(s, buffer_server, "m1", status="0x4503 no operator") == "stored"  # stronger
    assert send(s, buffer_server, "m1", status="0xDBF3 retrying", time="091500") == "ignored"
    assert send(s, buffer_server, "m2", status="0x451A delivered") == "acknowledged"
    assert send(s, buffer_server, "m3", status="0x450E accepted") == "acknowledged"
    assert_json_error(ingest(s, buffer_server, report_query(msisdn=None)), 400, "msisdn")
    assert_json_error(requests.get(buffer_server.url + "/api/v1/providers/nope/report"), 404)
    samples = scrape(buffer_server)
    di = {"provider": "di"}
    assert value(samples, "smsbounce_reports_received_total", **di) == 7
    assert value(samples, "smsbounce_reports_stored_total", type="Temporary", **di) == 1
    assert value(samples, "smsbounce_reports_stored_total", type="Permanent", **di) == 1
    for reason in ("duplicate", "stale", "success", "intermediate"):
        assert value(samples, "smsbounce_reports_ignored_total", reason=reason, **di) == 1, reason
    assert value(samples, "smsbounce_reports_rejected_total", reason="invalid", **di) == 1
    assert (
        value(
            samples,
            "smsbounce_reports_rejected_total",
            provider="unknown",
            reason="unknown_provider",
        )
        == 1
    )


def test_wrong_tokens_are_rejected_and_the_token_is_never_a_label(start_buffer, buffer_settings):
    server = start_buffer(dataclasses.replace(buffer_settings, ingest_tokens=(TOKEN,)))
    path = f"/api/v1/notifications/set/{TOKEN}?{report_query()}"
    assert requests.get(server.url + path).ok
    assert (
        requests.get(server.url + "/api/v1/notifications/set/not-the-token-123?x=1").status_code
        == 404
    )
    response = requests.get(server.url + "/metrics", auth=server.auth)
    assert TOKEN not in response.text and "not-the-token" not in response.text
    samples = scrape(server)
    assert value(samples, "smsbounce_reports_rejected_total", provider="di", reason="token") == 1
    rule = "/api/v1/notifications/set/<token>"
    count = "smsbounce_request_duration_seconds_count"
    assert value(samples, count, endpoint=rule, method="GET") == 2
    assert value(samples, "smsbounce_http_responses_total", endpoint=rule, status="404") == 1


def test_bounces_served_and_latency_per_route(buffer_server):
    for n in range(3):
        send(requests, buffer_server, f"served-{n}")
    body = requests.get(buffer_server.url + "/api/v1/notifications/get", auth=buffer_server.auth)
    assert len(body.json()["status"]) == 3
    samples = scrape(buffer_server)
    assert value(samples, "smsbounce_bounces_served_total") == 3
    get = {"endpoint": "/api/v1/notifications/get", "method": "GET"}
    assert value(samples, "smsbounce_request_duration_seconds_count", **get) == 1
    assert value(samples, "smsbounce_request_duration_seconds_bucket", le="30.0", **get) == 1
    set_ = {"endpoint": "/api/v1/notifications/set", "method": "GET"}
    assert value(samples, "smsbounce_request_duration_seconds_count", **set_) == 3


def test_database_errors_are_counted(tmp_path):
    settings = settings_for(f"sqlite:///{tmp_path / 'missing-dir' / 'b.db'}")
    with LocalServer(create_app(settings)) as server:
        server.auth = (settings.api_user, settings.api_password)
        assert_json_error(ingest(requests, server, report_query()), 503)
        assert_json_error(requests.get(server.url + "/readyz"), 503)
        samples = scrape(server)
    assert value(samples, "smsbounce_database_errors_total", operation="request") == 2
    assert (
        value(
            samples,
            "smsbounce_reports_rejected_total",
            provider="di",
            reason="database_unavailable",
        )
        == 1
    )


def test_serve_adds_up_every_workers_counts(db_url):
    env = {"SMSBOUNCE_DATABASE_URL": db_url, "SMSBOUNCE_API_PASSWORD": "strong-test-password"}
    with ServeProcess(env, "--workers", "2") as server:
        for n in range(20):
            # A new connection each time, so both workers take some.
            assert send(requests, server, f"w-{n}") == "stored"
        for _ in range(4):
            samples = scrape(server)
            assert value(samples, "smsbounce_reports_received_total", provider="di") == 20
            assert (
                value(samples, "smsbounce_reports_stored_total", provider="di", type="Permanent")
                == 20
            )
        assert server.stop() == 0


_DURATIONS = st.one_of(
    st.sampled_from([0.0, *LATENCY_BUCKETS, 31.0]),  # on every bound, and beyond the last
    st.floats(min_value=0, max_value=60, allow_nan=False),
)


@given(
    results=st.lists(st.sampled_from(list(Result)), max_size=6),
    durations=st.lists(_DURATIONS, max_size=8),
)
@settings(max_examples=60, deadline=None)
def test_counting_a_turn_together_writes_what_counting_each_event_writes(results, durations):
    """``observe_all`` (the event loop counts one turn's answers together, each series written
    once) exposes exactly what ``observe`` of each event does, histogram buckets included."""
    environ = {ENDPOINT: "/api/v1/notifications/set", "REQUEST_METHOD": "GET"}
    events = [
        Taken("di", [Verdict(result, "Temporary", f"m{n}")]) for n, result in enumerate(results)
    ]
    events += [Answered(environ, "200", seconds) for seconds in durations]
    one_by_one, together = Metrics(), Metrics()
    for event in events:
        one_by_one.observe(event)
    together.observe_all(events)

    def exposed(metrics):
        text = metrics.render()[0].decode()
        return [line for line in text.splitlines() if "_created" not in line]

    assert exposed(together) == exposed(one_by_one)
