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
  .legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; margin: .4rem 0 0; }
  .swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: .15rem; margin-right: .35rem; vertical-align: -.05rem; }
  tr.default td { background: #fff6e5; }
  .late { background: #fbe0e0; color: #8a1c1c; }
</style>
</head>
<body>
<h1>smsbounce buffer</h1>
<p class="muted">Status at {{view.now.strftime("%Y-%m-%d %H:%M:%S")}} UTC · refreshes every minute</p>

<h2>Database</h2>
<p id="database"><span class="state {{'ok' if view.database_ok else 'down'}}">{{view.database}} {{'OK' if view.database_ok else 'DOWN'}}</span>
  <span class="muted">{{view.database_detail}}</span></p>
% if view.retention:
<p id="retention" class="muted">Retention: {{view.retention}}.</p>
% end

% if view.database_ok:
<h2>Ingest rate</h2>
<div class="rates" id="rates">
  <div class="rate"><b>{{"%.2f" % view.rate_5min}}</b>reports / minute, last 5 minutes</div>
  <div class="rate"><b>{{"%.2f" % view.rate_hour}}</b>reports / minute, last hour</div>
</div>

<h2>Reports per hour, last 24 hours</h2>
{{!view.chart}}
<ul class="legend" id="chart-legend">
% for item in view.legend:
<li><span class="swatch" style="background: {{item.colour}}"></span>{{item.label}} <span class="muted">({{item.total}})</span></li>
% end
</ul>

<h2>Marketing polls</h2>
% if view.polls:
<table id="polls">
<thead><tr><th>sourceSystem</th><th>Last poll started (UTC)</th><th>Seconds ago</th><th>Read up to (ingest time, UTC)</th><th>Bounces waiting beyond it</th><th>Oldest waiting (s)</th></tr></thead>
<tbody>
% for p in view.polls:
<tr><td><code>{{p["sourceSystem"] or "(none)"}}</code></td><td>{{p["polledAt"]}}</td><td class="n">{{"%.0f" % p["secondsSinceLastPoll"]}}</td><td>{{p["readUntil"]}}</td><td class="n">{{p["bouncesWaiting"]}}</td><td class="n">{{"" if p["oldestWaitingSeconds"] is None else "%.0f" % p["oldestWaitingSeconds"]}}</td></tr>
% end
</tbody>
</table>
% else:
<p id="polls" class="muted">Marketing has not polled this buffer yet.</p>
% end

<h2>The mapping at work, last 24 hours</h2>
% if view.codes:
<p class="muted">Every state and code each provider sent, how often, what it became and by which rule of the profile. A row on <code>default</code> is a code the profile does not list: add it to the profile's <code>states</code> or <code>codes</code>, then <code>smsbounce replay --stored</code>. Over any period: <code>smsbounce providers codes --since 7d</code>.</p>
<table id="codes">
<thead><tr><th>Provider</th><th>State</th><th>Code</th><th>Reports</th><th>Classified</th><th>Rule</th></tr></thead>
<tbody>
% for c in view.codes:
<tr class="{{'default' if c.rule == 'default' else ''}}"><td>{{c.provider}}</td><td><code>{{c.state}}</code></td><td><code>{{c.code}}</code></td><td class="n">{{c.count}}</td><td>{{c.classified}}</td><td><code>{{c.rule}}</code></td></tr>
% end
</tbody>
</table>
% else:
<p id="codes" class="muted">No report classified in the last 24 hours.</p>
% end

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
<p class="muted">Stored and quarantined counts are the bounces held now; the other counts, the chart and the mapping are written by each worker every few seconds. Metrics: <code>/metrics</code> · readiness: <code>/readyz</code></p>
</body>
</html>
