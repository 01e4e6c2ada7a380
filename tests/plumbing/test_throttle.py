"""Failed-login throttling and the client it is kept for: pure, with a hand-moved clock."""

import pytest

from smsbounce.plumbing.throttle import FailureThrottle, client_address


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_client_may_fail_burst_times_then_waits_one_refill_per_try():
    clock = Clock()
    throttle = FailureThrottle(burst=3, refill=10, clock=clock)
    for _ in range(3):
        assert throttle.wait("a") == 0
        throttle.failed("a")
    assert throttle.wait("a") == 10
    clock.now += 4
    assert throttle.wait("a") == 6
    clock.now += 6
    assert throttle.wait("a") == 0  # one try earned
    throttle.failed("a")
    assert throttle.wait("a") == 10
    assert throttle.wait("b") == 0, "another client is not slowed by a's failures"


def test_tries_come_back_up_to_the_burst_and_no_further():
    clock = Clock()
    throttle = FailureThrottle(burst=2, refill=1, clock=clock)
    throttle.failed("a")
    throttle.failed("a")
    clock.now += 3600
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.wait("a") == 1


def test_clients_beyond_the_limit_are_forgotten_oldest_first():
    throttle = FailureThrottle(burst=1, refill=60, max_clients=2, clock=Clock())
    for client in ("a", "b", "c"):
        throttle.failed(client)
    assert throttle.wait("a") == 0
    assert throttle.wait("b") == throttle.wait("c") == 60


@pytest.mark.parametrize(
    ("environ", "hops", "client"),
    [
        ({"REMOTE_ADDR": "192.0.2.1"}, 0, "192.0.2.1"),
        ({"REMOTE_ADDR": "192.0.2.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, 0, "192.0.2.1"),
        (
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 198.51.100.7"},
            1,
            "198.51.100.7",
        ),
        (
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 10.0.0.2"},
            2,
            "198.51.100.7",
        ),
        ({"REMOTE_ADDR": "10.0.0.1"}, 1, "10.0.0.1"),
        ({"REMOTE_ADDR": "2001:db8:1:2:3:4:5:6"}, 0, "2001:db8:1:2::/64"),
        ({"REMOTE_ADDR": "::ffff:192.0.2.1"}, 0, "192.0.2.1"),
        (
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "not an address"},
            1,
            "not an address",
        ),
    ],
    ids=[
        "peer",
        "header-ignored",
        "router",
        "two-proxies",
        "no-header",
        "ipv6-64",
        "mapped",
        "junk",
    ],
)
def test_the_client_is_the_address_the_outermost_trusted_proxy_saw(environ, hops, client):
    assert client_address(environ, hops) == client
