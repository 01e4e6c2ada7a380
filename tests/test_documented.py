"""Every variable a service reads is named in its documentation (datasette's
``test_settings_are_documented``): a new one cannot ship undocumented. Metrics and migrations:
tests/buffer/test_operations_doc.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsbounce.buffer.settings import Settings as BufferSettings
from smsbounce.cpi_proxy.settings import Settings as ProxySettings
from smsbounce.simulators.di.settings import Settings as SimulatorSettings

DOCS = Path(__file__).resolve().parents[1] / "docs"


class RecordingEnviron(dict):
    """An environment (the values a service cannot start without) that remembers every
    variable asked for."""

    def __init__(self, values):
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, name, default=None):
        self.asked.add(name)
        return super().get(name, default)


@pytest.mark.parametrize(
    ("settings", "required", "doc"),
    [
        (BufferSettings, {}, "configuration.md"),
        (
            ProxySettings,
            {
                "SMSBOUNCE_CPI_BUFFER_URL": "http://127.0.0.1:8080",
                "SMSBOUNCE_CPI_PROVIDER_URL": "http://127.0.0.1:8081",
                "SMSBOUNCE_CPI_BUFFER_PASSWORD": "a-buffer-password",
            },
            "cpi-proxy.md",
        ),
        (SimulatorSettings, {}, "simulators-di.md"),
    ],
    ids=["buffer", "cpi-proxy", "di-sim"],
)
def test_every_variable_a_service_reads_is_documented(settings, required, doc):
    environ = RecordingEnviron(required)
    settings.from_env(environ)
    assert environ.asked, "from_env read nothing: the recording saw no variable"
    text = (DOCS / doc).read_text(encoding="utf-8")
    assert sorted(name for name in environ.asked if f"`{name}`" not in text) == []
