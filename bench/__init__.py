"""Ratio benchmarks of the buffer (issues 6 and 12): ``python -m bench
[ingest|pull|peer|slow|all]``.

Every figure is a ratio against something measured in the same run on the same machine, so the
numbers travel between machines better than raw throughput does:

- ``ingest_vs_trivial``: reports stored per second by ``/set`` (unique ids, committed before the
  answer) divided by answers per second of ``/healthz`` on the same server and worker count;
  ``p99_8c_ms``: the 99th percentile latency of ``/set`` at 8 connections;
- ``deep_vs_first``: latency of page 9,999 of a window holding 1,000,000 bounces divided by the
  latency of page 0;
- ``ours_vs_peer``: reports stored per second by ``smsbounce serve`` divided by those of the
  article's own design (Node + Express + Sequelize), same PostgreSQL, same load, alternating;
- ``within_1s_pct``: the share of real reports answered 2xx within 1 s while 256 idle or slow
  sockets are held open against the server;
- ``rss_mb``: the peak resident memory of any one worker during the run (``rss_growth_mb`` shows
  whether it stayed flat).
"""
