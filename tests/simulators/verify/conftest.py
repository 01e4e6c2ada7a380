"""verify's tests run our buffer with small pages, so that a small round trip (``--volume``
``SMALL_VOLUME``) is paged many times over and the run stays fast."""

from __future__ import annotations

import pytest

from tests.simulators.verify.helpers import SMALL_PAGE
from tests.testenv import settings_for


@pytest.fixture
def buffer_settings(db_url):
    return settings_for(db_url, page_size=SMALL_PAGE)
