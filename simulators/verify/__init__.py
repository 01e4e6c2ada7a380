"""``smsbounce verify``: certify a live status endpoint against SAP Marketing's contract.

Checks are small pure functions over what was observed on the wire (``readside``, ``roundtrip``),
each returning a ``Verdict`` with one line of evidence; ``runner`` makes the requests, ``reports``
writes JUnit XML, HTML and JSON. Nothing here deletes or alters data the run did not create.
``verify(status_url, auth, **options)`` is the same run as a function (the pytest plugin's).
"""

from .runner import Options, Result, verify
from .wire import CouldNotRun

__all__ = ["CouldNotRun", "Options", "Result", "verify"]
