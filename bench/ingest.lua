-- wrk script for the ingest benchmark: every request carries a DI report with an order id
-- nobody used before (run id, wrk thread, counter), so each one is a real insert and commit.
-- Usage: wrk -s bench/ingest.lua <url> -- <run-id> [set|healthz]
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("tid", count)
  table.insert(threads, thread)
end

function init(args)
  run = args[1] or "bench"
  target = args[2] or "set"
  n = 0
  non2xx = 0
end

function request()
  if target == "healthz" then
    return wrk.format("GET", "/healthz")
  end
  n = n + 1
  local id = run .. "-" .. tid .. "-" .. n
  return wrk.format("GET", "/api/v1/notifications/set?orderid=" .. id ..
    "&time=101500&date=01022026&msisdn=%2B4915112345678" ..
    "&status=0x4503%20Message%201%20of%20the%20order%20" .. id .. "%20is%20out%20of%20coverage")
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local non2xx_total = 0
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, non2xx_total, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
