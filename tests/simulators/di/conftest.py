"""Fixtures of the DI simulator's tests: live simulators and callback receivers."""

from __future__ import annotations

import pytest

from smsbounce.plumbing.local_server import LocalServer
from smsbounce.simulators.di.app import create_app
from smsbounce.simulators.di.settings import Settings
from smsbounce.simulators.di.simulator import Simulator
from tests.simulators.di.helpers import Receiver, quiet_scenario


@pytest.fixture
def start_receiver():
    started = []

    def start(answers=None, body: str = "ok") -> Receiver:
        receiver = Receiver(answers, body)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def start_sim():
    """Start simulators (live servers) from a scenario and Settings fields."""
    started = []

    def start(scenario=None, **fields) -> LocalServer:
        settings = Settings(scenario=scenario or quiet_scenario(), first_order_id=1000, **fields)
        simulator = Simulator(settings)
        server = LocalServer(create_app(settings, simulator))
        server.simulator = simulator
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        server.simulator.close()
