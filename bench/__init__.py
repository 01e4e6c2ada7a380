"""Ratio benchmarks of the buffer (issue 6): ``python -m bench [ingest|pull|all]``.

Every figure is a ratio against something measured in the same run on the same machine, so the
numbers travel between machines better than raw throughput does:

- ``ingest_vs_trivial``: reports stored per second by ``/set`` (unique ids, committed before the
  answer) divided by answers per second of ``/healthz`` on the same server and worker count;
- ``deep_vs_first``: latency of page 9,999 of a window holding 1,000,000 bounces divided by the
  latency of page 0;
- ``rss_mb``: the peak resident memory of any one worker during the run (``rss_growth_mb`` shows
  whether it stayed flat).
"""
