-- wrk script of `python -m bench peer`: the peer's own bench-set.lua drives both servers, so
-- both see the very same requests (unique orderID, the current UTC date and time); only done()
-- is replaced, to print the figures as one JSON line. Usage:
--   BENCH_PEER_SCRIPT=/path/to/bench-set.lua wrk -s bench/peer.lua <url>
dofile(os.getenv("BENCH_PEER_SCRIPT"))

function done(summary, latency, requests)
  local e = summary.errors
  -- errors.status counts answers with a status above 399: neither server answers 3xx.
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
