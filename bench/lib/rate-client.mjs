// rate-client.mjs: a child process that sends HTTP requests at a steady open-loop rate for a fixed time.
// Plain JavaScript for Node 20 (no build step); only node: built-ins (a keep-alive http.Agent).
//
// Invocation: node rate-client.mjs '@/path/job.json'
//   job = { "url": "http://127.0.0.1:PORT/path", "method": "GET" | "POST",
//           "bodies": [ { "label": "known", "json": {...} }, ... ],  // POST: cycled in order; GET: omit
//           "ratePerSecond": 200, "durationMs": 30000, "concurrencyLimit": 512 }
// stdout: {"type":"ready"}, then after "start" on stdin and the window:
//   {"type":"result","sent":S,"statuses":{...},"errors":E,"skipped":K,"elapsedMs":T,
//    "latencyMs":{"all":{p50,p99,max,n},"<label>":{...}},"errorSamples":[...]}
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const raw = process.argv[2] ?? '{}';
const job = JSON.parse(raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw);
const url = new URL(job.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const bodies = (job.bodies ?? [{ label: 'get' }]).map((b) => ({ label: b.label, text: b.json === undefined ? undefined : JSON.stringify(b.json) }));
const concurrencyLimit = job.concurrencyLimit ?? 512;
/** @type {Record<string, number[]>} */
const latencies = { all: [] };
/** @type {Record<string, number>} */
const statuses = {};
const errorSamples = [];
let sent = 0;
let errors = 0;
let skipped = 0;
let inFlight = 0;
let onIdle;

const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const sendOne = () => {
  const body = bodies[sent % bodies.length];
  sent++;
  inFlight++;
  const started = performance.now();
  const headers = body.text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body.text) };
  let settled = false;
  const done = (status, error) => {
    if (settled) return;
    settled = true;
    inFlight--;
    if (error) {
      errors++;
      if (errorSamples.length < 5) errorSamples.push(error.message);
    } else {
      const ms = performance.now() - started;
      statuses[status] = (statuses[status] ?? 0) + 1;
      latencies.all.push(ms);
      (latencies[body.label] ??= []).push(ms);
    }
    if (inFlight === 0 && onIdle) onIdle();
  };
  const req = http.request({ agent, hostname: url.hostname, port: url.port, path: url.pathname, method: job.method, headers }, (res) => {
    res.on('data', () => undefined);
    res.on('end', () => done(res.statusCode));
    res.on('error', (e) => done(0, e));
  });
  req.on('error', (e) => done(0, e));
  req.end(body.text);
};

const summarize = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { p50: Number(at(50).toFixed(2)), p99: Number(at(99).toFixed(2)), max: Number((sorted[sorted.length - 1] ?? NaN).toFixed(2)), n: sorted.length };
};

const run = async () => {
  const startedAt = performance.now();
  let scheduled = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - startedAt;
      const due = Math.min(Math.floor((elapsed / 1000) * job.ratePerSecond), Math.floor((job.durationMs / 1000) * job.ratePerSecond));
      while (scheduled < due) {
        scheduled++;
        if (inFlight >= concurrencyLimit) skipped++;
        else sendOne();
      }
      if (elapsed >= job.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const elapsedMs = performance.now() - startedAt;
  if (inFlight > 0) await Promise.race([new Promise((r) => (onIdle = r)), new Promise((r) => setTimeout(r, 15_000))]);
  emit({
    type: 'result',
    sent,
    statuses,
    errors,
    skipped,
    unfinished: inFlight,
    elapsedMs,
    latencyMs: Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, summarize(v)])),
    errorSamples,
  });
  agent.destroy();
  process.exit(0);
};

emit({ type: 'ready' });
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'start') void run();
});
process.stdin.on('end', () => {
  if (sent === 0) process.exit(1);
});
