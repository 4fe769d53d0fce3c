import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/**
 * A small live status page: static HTML and inline script, no front-end
 * build. It loads the chargers, their status and smart-charging plan, the
 * current price and the next 24 hours' prices from the API, then follows the
 * WebSocket. "Charge now" posts to the API with the page's token: with auth
 * off it is refused unless CONTROL_WITHOUT_AUTH is set, and says so. When auth is on, the page asks for a token
 * and keeps it in the browser's localStorage; the page itself holds no data.
 */
const SCRIPT = `
const tokenKey = 'twc-token';
const params = new URLSearchParams(location.search);
if (params.get('token')) localStorage.setItem(tokenKey, params.get('token'));
let token = localStorage.getItem(tokenKey) || '';
const $ = (selector, root = document) => root.querySelector(selector);
const fmt = {
  kw: (w) => (w == null ? '–' : (w / 1000).toFixed(2) + ' kW'),
  kwh: (wh) => (wh == null ? '–' : (wh / 1000).toFixed(2) + ' kWh'),
  usd: (v) => (v == null ? '–' : '$' + v.toFixed(2)),
  cents: (v) => (v == null ? '–' : v.toFixed(1) + ' ¢/kWh'),
};
function set(root, field, text) {
  const node = root.querySelector('[data-field="' + field + '"]');
  if (node) node.textContent = text;
}
async function api(path) {
  const response = await fetch(path, { headers: token ? { authorization: 'Bearer ' + token } : {} });
  if (response.status === 401) {
    $('#login').hidden = false;
    throw new Error('unauthorized');
  }
  if (!response.ok) throw new Error(path + ': ' + response.status);
  return response.json();
}
const STATUS_TEXT = {
  unplugged: 'waiting for the car', off: 'off (advice only)', charge_now: 'charging now (your choice)',
  planned: 'following the plan', deadline: 'charging at once to be ready in time', no_prices: 'no current prices: charging',
  complete: 'done', user_override: 'you took over', fail_safe: 'car not answering: charging', stale: 'no fresh data from the charger',
};
function showPlan(node, answer) {
  const state = answer.plan;
  node.dataset.planStatus = state ? state.status : 'none';
  const stale = answer.stale;
  node.querySelector('[data-field="plan-status"]').classList.toggle('stale', stale);
  set(node, 'plan-status', !state ? 'planner not running' : (STATUS_TEXT[state.status] || state.status) + (stale ? ' (stale)' : ''));
  const plan = state && state.plan;
  const runs = plan ? plan.runs : [];
  set(node, 'plan', runs.length === 0 ? '–' : runs.map((run) => clock(run.start) + '–' + clock(run.end)).join(', ') + ', ' + fmt.usd(plan.expected.total_usd) + (plan.saving_usd > 0.005 ? ' (saves ' + fmt.usd(plan.saving_usd) + ')' : ''));
  node.querySelector('[data-action="charge-now"]').hidden = !state || !['planned', 'deadline', 'off'].includes(state.status);
  const event = state && state.last_event;
  set(node, 'car-command', !event ? '–' : clock(event.time) + ' ' + event.command.replace('charge_', '') + ': ' + (event.ok ? 'ok' : 'failed (' + event.failure + ')'));
  const calls = state ? Object.values(state.usage.calls).reduce((sum, n) => sum + n, 0) : 0;
  set(node, 'car-calls', state && state.controller !== 'none' && state.controller !== 'mqtt' ? String(calls) + ' (' + state.controller + ')' : '–');
}
async function chargeNow(node) {
  const response = await fetch('/api/v1/chargers/' + encodeURIComponent(node.dataset.charger) + '/charge-now', {
    method: 'POST', headers: token ? { authorization: 'Bearer ' + token } : {},
  });
  const body = await response.json().catch(() => ({}));
  set(node, 'control-message', response.ok ? 'charging now until unplugged' : body.message || 'refused (' + response.status + ')');
  if (response.ok) showPlan(node, body);
}
function card(charger) {
  let node = $('[data-charger="' + CSS.escape(charger.id) + '"]');
  if (!node) {
    node = $('#charger-template').content.firstElementChild.cloneNode(true);
    node.dataset.charger = charger.id;
    node.querySelector('[data-action="charge-now"]').addEventListener('click', () => chargeNow(node).catch(() => {}));
    $('#chargers').append(node);
  }
  set(node, 'name', charger.name);
  return node;
}
function showVitals(node, vitals) {
  set(node, 'power', fmt.kw(vitals.power_w));
  set(node, 'state', vitals.charging ? 'charging' : vitals.vehicle_connected ? 'plugged in' : 'idle');
  set(node, 'evse', vitals.evse_state_name);
}
function showSession(node, session) {
  set(node, 'energy', session && session.open ? fmt.kwh(session.energy_wh) : '–');
  set(node, 'cost', session && session.open ? fmt.usd(session.total_cost_usd) : '–');
}
function showPrice(price) {
  set(document, 'price', fmt.cents(price.five_minute ? price.five_minute.price_cents_kwh : null));
  set(document, 'hour-average', fmt.cents(price.hour_average ? price.hour_average.price_cents_kwh : null));
  $('#price').classList.toggle('stale', !!price.stale);
}
const timeZone = document.body.dataset.timeZone || undefined;
const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', timeZone });
const STALE_MS = 15 * 60 * 1000;
let forecastAt = null;
function markForecastStale() {
  const stale = forecastAt === null || Date.now() - forecastAt > STALE_MS;
  $('#forecast').classList.toggle('stale', stale);
  set(document, 'forecast-state', forecastAt === null ? 'no forecast' : stale ? 'stale' : 'updated ' + clock(new Date(forecastAt).toISOString()));
}
function showForecast(forecast) {
  forecastAt = forecast.stale ? 0 : Date.parse(forecast.computed_at);
  const hours = forecast.hours.slice(0, 24);
  const chart = $('#forecast-chart');
  chart.replaceChildren();
  const top = Math.max(1, ...hours.map((hour) => hour.price_cents_kwh));
  const bottom = Math.min(0, ...hours.map((hour) => hour.price_cents_kwh));
  const scale = 100 / (top - bottom);
  hours.forEach((hour, i) => {
    const bar = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    const y = (top - Math.max(hour.price_cents_kwh, 0)) * scale;
    bar.setAttribute('x', String(i * 10 + 1));
    bar.setAttribute('width', '8');
    bar.setAttribute('y', String(y));
    bar.setAttribute('height', String(Math.max(Math.abs(hour.price_cents_kwh) * scale, 0.5)));
    bar.setAttribute('class', 'bar ' + hour.source);
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = clock(new Date(Date.parse(hour.hour_ending) - 3600000).toISOString()) + '  ' + fmt.cents(hour.price_cents_kwh) + '  (' + hour.source.replace('_', '-') + ')';
    bar.append(title);
    chart.append(bar);
  });
  const ticks = $('#forecast-ticks');
  ticks.replaceChildren(...hours.filter((_, i) => i % 6 === 0).map((hour) => {
    const tick = document.createElement('span');
    tick.textContent = clock(new Date(Date.parse(hour.hour_ending) - 3600000).toISOString());
    return tick;
  }));
  const plan = forecast.tonight.window;
  set(document, 'tonight', plan ? clock(plan.start) + '–' + clock(plan.end) + ', ' + fmt.cents(plan.avg_price_cents_kwh) : '–');
  set(document, 'tonight-average', fmt.cents(forecast.tonight.avg_price_cents_kwh));
  markForecastStale();
}
setInterval(markForecastStale, 60000);
async function load() {
  const { chargers } = await api('/api/v1/chargers');
  for (const charger of chargers) {
    const node = card(charger);
    set(node, 'online', charger.online ? 'online' : 'offline');
    api('/api/v1/chargers/' + encodeURIComponent(charger.id) + '/status')
      .then((status) => {
        showVitals(node, status.vitals);
        showSession(node, status.session);
      })
      .catch(() => {});
    api('/api/v1/chargers/' + encodeURIComponent(charger.id) + '/plan')
      .then((answer) => showPlan(node, answer))
      .catch(() => {});
  }
  api('/api/v1/price/current').then(showPrice).catch(() => set(document, 'price', '–'));
  api('/api/v1/price/forecast?hours=24').then(showForecast).catch(markForecastStale);
}
let retryMs = 1000;
function follow() {
  const url = new URL('/ws/live', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token) url.searchParams.set('token', token);
  const socket = new WebSocket(url);
  socket.onopen = () => {
    retryMs = 1000;
    $('#connection').textContent = 'live';
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'price') return showPrice(message.data);
    if (message.type === 'forecast') return showForecast(message.data);
    if (message.type === 'vitals') {
      const node = card({ id: message.charger_id, name: message.data.charger_name });
      const v = message.data.vitals;
      return showVitals(node, { ...v, charging: v.contactor_closed });
    }
    if (message.type === 'plan') {
      return showPlan(card({ id: message.charger_id, name: message.data.charger_name }), { plan: message.data, stale: false });
    }
    if (message.type === 'session') {
      const node = card({ id: message.charger_id, name: message.data.charger_name });
      const live = message.data;
      return showSession(node, { open: live.open, energy_wh: live.session.energyWh, total_cost_usd: live.cost.totalCostUsd });
    }
  };
  socket.onclose = () => {
    $('#connection').textContent = 'reconnecting';
    setTimeout(follow, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  };
}
$('#login').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $('#token').value.trim();
  localStorage.setItem(tokenKey, token);
  location.reload();
});
load().then(follow, () => {});
`;

const STYLE = `
body { font: 16px system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
header { display: flex; gap: 1rem; align-items: baseline; padding: 1rem 1.5rem; background: #1d2330; color: #fff; }
header h1 { font-size: 1.2rem; margin: 0; flex: 1; }
header a { color: #9cc3ff; }
main { padding: 1.5rem; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); }
section { background: #fff; border-radius: 8px; padding: 1rem 1.25rem; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; margin: 0; }
dt { color: #5b6475; } dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 600; }
.stale dd, dd.stale { color: #b35c00; }
#forecast { grid-column: 1 / -1; }
#forecast svg { width: 100%; height: 120px; display: block; margin: .5rem 0 0; }
#forecast-ticks { display: grid; grid-template-columns: repeat(4, 1fr); font-size: .8rem; color: #5b6475; margin-bottom: .5rem; }
.bar.running { fill: #1d2330; } .bar.day_ahead { fill: #2f6fdf; } .bar.forecast { fill: #9cb8ea; }
.stale .bar { fill: #c9ccd3; }
.legend span { margin-right: 1rem; font-size: .85rem; color: #5b6475; }
.legend .running::before, .legend .day_ahead::before, .legend .forecast::before { content: '■ '; }
.legend .running::before { color: #1d2330; } .legend .day_ahead::before { color: #2f6fdf; } .legend .forecast::before { color: #9cb8ea; }
form[hidden] { display: none; }
form { padding: 1rem 1.5rem; }
`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function statusPageHtml(grafanaUrl: string, timeZone: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wall Connector status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-time-zone="${escapeHtml(timeZone)}">
<header><h1>Wall Connector</h1><span id="connection">connecting</span><a href="${escapeHtml(grafanaUrl)}">Grafana dashboards</a></header>
<form id="login" hidden><label>API token <input id="token" type="password" autocomplete="current-password"></label> <button>Sign in</button></form>
<main>
<section id="price"><h2>ComEd price</h2><dl><dt>5-minute</dt><dd data-field="price">–</dd><dt>hour so far</dt><dd data-field="hour-average">–</dd></dl></section>
<section id="forecast" class="stale"><h2>Next 24 hours</h2>
<svg id="forecast-chart" viewBox="0 0 240 100" preserveAspectRatio="none" role="img" aria-label="hourly prices ahead"></svg>
<div id="forecast-ticks"></div>
<div class="legend"><span class="running">this hour so far</span><span class="day_ahead">ComEd day-ahead</span><span class="forecast">forecast</span></div>
<dl><dt>cheapest tonight</dt><dd data-field="tonight">–</dd><dt>average tonight</dt><dd data-field="tonight-average">–</dd><dt>forecast</dt><dd data-field="forecast-state">no forecast</dd></dl></section>
<div id="chargers" style="display: contents"></div>
</main>
<template id="charger-template"><section class="charger"><h2 data-field="name"></h2><dl>
<dt>power</dt><dd data-field="power">–</dd>
<dt>state</dt><dd data-field="state">–</dd>
<dt>EVSE</dt><dd data-field="evse">–</dd>
<dt>session energy</dt><dd data-field="energy">–</dd>
<dt>session cost so far</dt><dd data-field="cost">–</dd>
<dt>link</dt><dd data-field="online">–</dd>
<dt>smart charging</dt><dd data-field="plan-status">–</dd>
<dt>plan</dt><dd data-field="plan">–</dd>
<dt>last car command</dt><dd data-field="car-command">–</dd>
<dt>car service calls</dt><dd data-field="car-calls">–</dd>
</dl><p><button type="button" data-action="charge-now" hidden>Charge now</button> <span data-field="control-message"></span></p></section></template>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export async function statusPageRoutes(app: FastifyInstance): Promise<void> {
  const html = statusPageHtml(app.config.grafanaUrl, app.config.timeZone);
  // Only this page's own inline script and style may run.
  const policy = [
    "default-src 'none'",
    `script-src ${hash(SCRIPT)}`,
    `style-src ${hash(STYLE)} 'unsafe-hashes' ${hash('display: contents')}`,
    "connect-src 'self' ws: wss:",
    "img-src 'self' data:",
    "form-action 'self'",
    "base-uri 'none'",
  ].join('; ');
  app.get('/', { schema: { hide: true }, config: { public: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', policy).send(html),
  );
}
