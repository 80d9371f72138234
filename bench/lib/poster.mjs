// poster.mjs: a child process that posts chat messages over HTTP at a steady rate, for a fixed time.
//
// Plain JavaScript ES module for Node 20 (no build step); it is spawned by the TypeScript benchmark.
// Only node: built-ins are used: node:http with a keep-alive Agent, which costs less CPU per request
// than the global fetch (undici) at these rates.
//
// ─── CLI / IPC contract ──────────────────────────────────────────────────────────────────────────────
// Invocation:  node poster.mjs '<job JSON>'
//   job = {
//     "targets": [ { "url": "http://127.0.0.1:PORT/api/v1/rooms/ROOMID/messages", "token": "..." }, ... ],
//     "ratePerSecond": 1000,       // steady send rate over all targets together (round-robin)
//     "durationMs": 10000,         // length of the sending window after "start"
//     "concurrencyLimit": 256,     // max requests in flight; a send due while at the limit is "skipped"
//     "maxSockets": 64,            // optional: keep-alive connections per host:port (default 64)
//     "tickMs": 10,                // optional: scheduler tick (default 10 ms)
//     "drainTimeoutMs": 10000      // optional: how long to wait for in-flight requests after the window
//   }
// stdout (one JSON object per line):
//   1. {"type":"ready"} once set up.
//   2. after the window and the drain:
//      {"type":"result","sent":S,"ok":O,"statuses":{"201":..,"429":..},"skipped":K,"errors":X,
//       "unfinished":U,"elapsedMs":E,"sendRatePerSecond":R,"drainMs":D,
//       "postLatencyMs":{"p50":..,"p90":..,"p99":..,"max":..,"samples":N},"errorSamples":[...]}
//      sent = requests issued; ok = 2xx answers; statuses = answers by HTTP status; skipped = sends that
//      were due while concurrencyLimit requests were in flight; errors = network errors (no status);
//      unfinished = requests still in flight when drainTimeoutMs ran out; elapsedMs = the sending window;
//      postLatencyMs = request start to end of response body, for answered requests (any status).
//   Then the process exits with code 0.
// stdin (lines):
//   "start" — begin sending.   "stop" — optional: end the sending window early.
//   End of stdin before "start": exit with code 1 (the parent is gone).
//
// ─── Message body ──────────────────────────────────────────────────────────────────────────────────────
// {"body":"bench:<timestampMs>:<counter>"}, timestampMs = performance.timeOrigin + performance.now()
// (3 decimals) taken right before the request is written; ws-load-client.mjs subtracts it on delivery.
//
// ─── Scheduling ────────────────────────────────────────────────────────────────────────────────────────
// Every tick the number of sends that *should* have happened by now (rate × elapsed) is compared with
// the number scheduled so far, and the difference is sent. Timer drift or a blocked event loop therefore
// produces a short catch-up burst rather than a lower average rate.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * @typedef {{ url: string, token?: string }} Target
 * @typedef {{ targets: Target[], ratePerSecond: number, durationMs: number, concurrencyLimit?: number,
 *   maxSockets?: number, tickMs?: number, drainTimeoutMs?: number }} Job
 */

/** @type {Job} */
// The job is JSON, inline or (for large jobs, past the argv size limit) in a file named as @path.
const rawJob = process.argv[2] ?? '{}';
const job = JSON.parse(rawJob.startsWith('@') ? readFileSync(rawJob.slice(1), 'utf8') : rawJob);
if (!Array.isArray(job.targets) || job.targets.length === 0 || !(job.ratePerSecond > 0) || !(job.durationMs > 0)) {
  process.stderr.write('usage: node poster.mjs \'{"targets":[{"url":"http://…","token":"…"}],"ratePerSecond":1000,"durationMs":10000}\'\n');
  process.exit(2);
}
const concurrencyLimit = Math.max(1, job.concurrencyLimit ?? 256);
const tickMs = Math.max(1, job.tickMs ?? 10);
const drainTimeoutMs = job.drainTimeoutMs ?? 10_000;

const emit = (/** @type {unknown} */ obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

// One keep-alive agent per protocol; Node keys its socket pool by host:port inside the agent.
const agentOptions = { keepAlive: true, maxSockets: job.maxSockets ?? 64, scheduling: /** @type {const} */ ('lifo') };
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

// Pre-parse every target once; only the body and its length change per request.
const targets = job.targets.map((t) => {
  const u = new URL(t.url);
  const secure = u.protocol === 'https:';
  return {
    request: secure ? https.request : http.request,
    agent: secure ? httpsAgent : httpAgent,
    hostname: u.hostname,
    port: u.port || (secure ? 443 : 80),
    path: `${u.pathname}${u.search}`,
    authorization: t.token ? `Bearer ${t.token}` : undefined,
  };
});

// ─── Counters ──────────────────────────────────────────────────────────────────────────────────────────
const RESERVOIR_CAP = 1_000_000;
const latencies = new Float64Array(RESERVOIR_CAP);
let answered = 0; // requests with a full response (any status)
let latencyMax = -Infinity;
let sent = 0;
let ok = 0;
let skipped = 0;
let errors = 0;
let inFlight = 0;
/** @type {Record<string, number>} */
const statuses = {};
/** @type {string[]} */
const errorSamples = [];
let counter = 0; // message counter, also used for round-robin

const recordLatency = (/** @type {number} */ ms) => {
  if (answered < RESERVOIR_CAP) latencies[answered] = ms;
  else {
    const j = Math.floor(Math.random() * (answered + 1));
    if (j < RESERVOIR_CAP) latencies[j] = ms;
  }
  answered++;
  if (ms > latencyMax) latencyMax = ms;
};

/** Called when a request settles (answered or failed); wakes the drain wait when the last one ends. */
let onIdle = /** @type {(() => void) | undefined} */ (undefined);
const settle = () => {
  inFlight--;
  if (inFlight === 0 && onIdle) onIdle();
};

/** Issue one POST to the next target. */
const sendOne = () => {
  const n = counter++;
  const t = targets[n % targets.length];
  if (!t) return;
  const started = performance.now();
  const body = `{"body":"bench:${(performance.timeOrigin + started).toFixed(3)}:${n}"}`;
  /** @type {Record<string, string | number>} */
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (t.authorization) headers.authorization = t.authorization;
  inFlight++;
  sent++;
  let settled = false;
  /** Count a request that ended without a complete response (network error, reset mid-body). */
  const fail = (/** @type {Error} */ err) => {
    if (settled) return;
    settled = true;
    errors++;
    if (errorSamples.length < 5 && !errorSamples.includes(err.message)) errorSamples.push(err.message);
    settle();
  };
  const req = t.request(
    { agent: t.agent, hostname: t.hostname, port: t.port, path: t.path, method: 'POST', headers },
    (res) => {
      res.on('error', fail);
      res.resume(); // discard the body, but wait for its end so the socket returns to the pool
      res.on('end', () => {
        if (settled) return;
        settled = true;
        const status = res.statusCode ?? 0;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status >= 200 && status < 300) ok++;
        recordLatency(performance.now() - started);
        settle();
      });
    },
  );
  req.on('error', fail);
  // Safety net: if the request closes without 'end' or 'error' having fired, it still must settle.
  req.on('close', () => fail(new Error('request closed before the response ended')));
  req.end(body);
};

// ─── Finishing ─────────────────────────────────────────────────────────────────────────────────────────
const pct = (/** @type {Float64Array} */ sorted, /** @type {number} */ p) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const round = (/** @type {number | null | undefined} */ x) => (x == null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);

let windowStart = 0;
let scheduled = 0; // sends due so far (sent + skipped)
let timer = /** @type {NodeJS.Timeout | undefined} */ (undefined);
let running = false;
let finished = false;

const finish = async () => {
  if (finished) return;
  finished = true;
  running = false;
  clearTimeout(timer);
  const elapsedMs = performance.now() - windowStart;
  // Wait for in-flight requests so their statuses and latencies are counted, but not forever.
  const drainStart = performance.now();
  if (inFlight > 0) {
    await new Promise((resolve) => {
      onIdle = () => resolve(undefined);
      setTimeout(resolve, drainTimeoutMs).unref();
    });
  }
  const drainMs = performance.now() - drainStart;
  const kept = Math.min(answered, RESERVOIR_CAP);
  const sorted = latencies.subarray(0, kept).sort();
  emit({
    type: 'result',
    sent,
    ok,
    statuses,
    skipped,
    errors,
    unfinished: inFlight,
    elapsedMs: round(elapsedMs),
    sendRatePerSecond: round(elapsedMs > 0 ? (sent * 1000) / elapsedMs : 0),
    drainMs: round(drainMs),
    postLatencyMs: {
      p50: round(pct(sorted, 50)),
      p90: round(pct(sorted, 90)),
      p99: round(pct(sorted, 99)),
      max: round(answered > 0 ? latencyMax : null),
      samples: kept,
    },
    errorSamples,
  });
  httpAgent.destroy();
  httpsAgent.destroy();
  process.exit(0);
};

/** One scheduler tick: send everything that has become due since the last tick. */
const tick = () => {
  if (!running) return;
  const elapsed = performance.now() - windowStart;
  const due = Math.floor((job.ratePerSecond * Math.min(elapsed, job.durationMs)) / 1000);
  while (scheduled < due) {
    scheduled++;
    if (inFlight >= concurrencyLimit) skipped++;
    else sendOne();
  }
  if (elapsed >= job.durationMs) void finish();
  else timer = setTimeout(tick, tickMs);
};

const start = () => {
  if (running || finished) return;
  running = true;
  windowStart = performance.now();
  timer = setTimeout(tick, tickMs);
};

// ─── Main ──────────────────────────────────────────────────────────────────────────────────────────────
const stdin = createInterface({ input: process.stdin });
stdin.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'start') start();
  else if (cmd === 'stop' && running) void finish();
});
stdin.on('close', () => {
  if (!running && !finished) process.exit(1); // parent gone before "start"
});

emit({ type: 'ready' });
