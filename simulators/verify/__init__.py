"""``smsbounce verify``: certify a live status endpoint against SAP Marketing's contract.

Checks are small pure functions over what was observed on the wire (``readside``, ``roundtrip``),
each returning a ``Verdict`` with one line of evidence; ``runner`` makes the requests, ``reports``
writes JUnit XML, HTML and JSON. Nothing here deletes or alters data the run did not create.
"""
