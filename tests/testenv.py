"""What test modules share that is not a fixture: the CI switch, the PostgreSQL variable, the
Marketing credentials of a buffer under test, and its settings. (pytest advises against
importing from ``conftest.py``; fixtures stay there.)"""

from __future__ import annotations

import os

from smsbounce.buffer.settings import Settings

PG_URL_VARIABLE = "SMSBOUNCE_TEST_PG_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"

API_USER, API_PASSWORD = "marketing", "s3cret-for-tests"


def settings_for(url: str, **overrides) -> Settings:
    """Settings of a buffer under test: known credentials, no settle lag, short timeouts."""
    defaults = dict(api_user=API_USER, api_password=API_PASSWORD, settle_lag=0.0, db_timeout=5.0)
    return Settings(database_url=url, **{**defaults, **overrides})
