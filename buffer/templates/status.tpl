<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>smsbounce buffer — status</title>
<style>
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1d2733; background: #fbfcfd; }
  h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.1rem; margin: 2rem 0 .5rem; }
  .muted { color: #5b6b7b; }
  .state { display: inline-block; padding: .2rem .6rem; border-radius: .3rem; font-weight: 600; }
  .ok { background: #dff3e4; color: #15592b; }
  .down { background: #fbe0e0; color: #8a1c1c; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e8ee; vertical-align: top; }
  th { background: #f1f4f8; font-weight: 600; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  .rates { display: flex; gap: 1rem; }
  .rate { background: #fff; border: 1px solid #e3e8ee; border-radius: .4rem; padding: .6rem 1rem; }
  .rate b { font-size: 1.4rem; display: block; }
  code { font-size: .9em; }
</style>
</head>
<body>
<h1>smsbounce buffer</h1>
<p class="muted">Status at {{view.now.strftime("%Y-%m-%d %H:%M:%S")}} UTC · refreshes every minute</p>

<h2>Database</h2>
<p id="database"><span class="state {{'ok' if view.database_ok else 'down'}}">{{view.database}} {{'OK' if view.database_ok else 'DOWN'}}</span>
  <span class="muted">{{view.database_detail}}</span></p>

% if view.database_ok:
<h2>Ingest rate</h2>
<div class="rates" id="rates">
  <div class="rate"><b>{{"%.2f" % view.rate_5min}}</b>reports / minute, last 5 minutes</div>
  <div class="rate"><b>{{"%.2f" % view.rate_hour}}</b>reports / minute, last hour</div>
</div>

<h2>Reports by outcome</h2>
<table id="outcomes">
<thead><tr><th>Outcome</th><th>Last hour</th><th>Last day</th></tr></thead>
<tbody>
% for label, hour, day in view.outcomes:
<tr><td>{{label}}</td><td class="n">{{hour}}</td><td class="n">{{day}}</td></tr>
% end
</tbody>
</table>

<h2>Latest bounces</h2>
% if view.bounces:
<table id="bounces">
<thead><tr><th>Received (UTC)</th><th>Message</th><th>Recipient</th><th>Type</th><th>Code</th><th>Text</th></tr></thead>
<tbody>
% for b in view.bounces:
<tr><td>{{b["received"]}}</td><td><code>{{b["messageId"]}}</code></td><td>{{b["recipient"]}}</td><td>{{b["type"]}}</td><td><code>{{b["statusCode"]}}</code></td><td>{{b["statusText"]}}</td></tr>
% end
</tbody>
</table>
% else:
<p id="bounces" class="muted">No bounces stored.</p>
% end

<h2>Quarantine</h2>
% if view.quarantine_count:
<p id="quarantine-count"><span class="state down">{{view.quarantine_count}} held</span>
  <span class="muted">bounces with a field the mapping could not read: answered as taken, not served. <code>smsbounce quarantine list</code> shows them, <code>smsbounce replay</code> maps them again.</span></p>
<table id="quarantine">
<thead><tr><th>Received (UTC)</th><th>Provider</th><th>Message</th><th>Type</th><th>Why held</th></tr></thead>
<tbody>
% for q in view.quarantined:
<tr><td>{{q["received"]}}</td><td>{{q["provider"]}}</td><td><code>{{q["messageId"]}}</code></td><td>{{q["type"]}}</td><td>{{q["reason"]}}</td></tr>
% end
</tbody>
</table>
% else:
<p id="quarantine-count" class="muted">Nothing held: every bounce mapped.</p>
% end
% end
<p class="muted">Counts are written by each worker every few seconds. Metrics: <code>/metrics</code> · readiness: <code>/readyz</code></p>
</body>
</html>
