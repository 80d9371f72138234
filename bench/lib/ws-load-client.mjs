// ws-load-client.mjs: a child process that opens many WebSocket clients against one stream endpoint
// and measures how many chat messages reach them, and how late.
//
// Plain JavaScript ES module for Node 20 (no build step); it is spawned by the TypeScript benchmark.
// Only node: built-ins and the `ws` package are used.
//
// ─── CLI / IPC contract ──────────────────────────────────────────────────────────────────────────────
// Invocation:  node ws-load-client.mjs '<job JSON>'
//   job = {
//     "url": "ws://127.0.0.1:PORT/api/v1/stream",   // endpoint every client connects to
//     "clients": [ { "token": "..." }, ... ],       // one entry per socket; "token": "" sends no header.
//                                                    // Optional per-client "url" overrides job.url (lets a
//                                                    // bench give each socket its own ?rooms=… query).
//     "connectConcurrency": 50,                     // at most this many handshakes in flight (default 50)
//     "durationMs": 10000,                          // length of the counting window after "start"
//     "connectTimeoutMs": 30000,                    // optional: handshake timeout per socket
//     "latencyReservoir": 2000000,                  // optional: latency samples kept (reservoir-sampled above)
//     "parse": "fast"                               // optional: "fast" (default) scans the frame bytes for the
//                                                    // timestamp and falls back to JSON.parse; "json" always parses
//   }
// stdout (one JSON object per line):
//   1. once every socket has either opened or failed:
//        {"type":"connected","clients":N,"failed":F,"connectMs":T,"errorSamples":[...]}
//      N = sockets open. F > 0 means some handshakes failed; the parent decides whether to go on.
//   2. after the counting window, after our own sockets are closed:
//        {"type":"result","deliveries":D,"elapsedMs":E,"deliveriesPerSecond":R,
//         "latencyMs":{"p50":..,"p90":..,"p99":..,"max":..,"min":..,"mean":..,"samples":S},
//         "closed":C,"closeCodes":{"1006":..},"errors":K,"errorSamples":[...],"ignoredFrames":I}
//      closed/closeCodes count sockets closed by the peer/network after they opened (our own closes at the
//      end are not counted); errors counts 'error' events, including failed handshakes.
//   Then the process exits with code 0.
// stdin (lines):
//   "start" — begin the counting window (if it arrives before "connected", the window starts right after).
//   "stop"  — optional: end the window early.
//   End of stdin (parent gone) before the window ends: close everything and exit with code 1.
//
// ─── What counts as a delivery ─────────────────────────────────────────────────────────────────────────
// A text frame that is JSON with type === "message.created" and message.body matching
// /^bench:(\d+(\.\d+)?):/. The number is the sender's performance.timeOrigin + performance.now() in ms at
// send time; latency = (performance.timeOrigin + performance.now()) here minus that number. Both processes
// run on the same machine, so the clocks agree to well under a millisecond. Frames that arrive before
// "start" or after the window are not counted.
//
// ─── Cost per frame ────────────────────────────────────────────────────────────────────────────────────
// With 5,000 sockets a single broadcast is 5,000 frames, so the per-frame path allocates nothing:
// a Buffer.indexOf for the type, a Buffer.indexOf for the body prefix, then digits are read straight
// from the bytes. Only if the frame says "message.created" but the fast scan cannot find the body
// (e.g. the server formats the JSON differently) do we fall back to JSON.parse.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

/**
 * @typedef {{ token?: string, url?: string }} ClientSpec
 * @typedef {{ url: string, clients: ClientSpec[], connectConcurrency?: number, durationMs: number,
 *   connectTimeoutMs?: number, latencyReservoir?: number, parse?: 'fast' | 'json' }} Job
 */

/** @type {Job} */
// The job is JSON, inline or (for large jobs, past the argv size limit) in a file named as @path.
const rawJob = process.argv[2] ?? '{}';
const job = JSON.parse(rawJob.startsWith('@') ? readFileSync(rawJob.slice(1), 'utf8') : rawJob);
if (typeof job.url !== 'string' || !Array.isArray(job.clients) || !(job.durationMs > 0)) {
  process.stderr.write('usage: node ws-load-client.mjs \'{"url":"ws://…","clients":[{"token":"…"}],"durationMs":10000}\'\n');
  process.exit(2);
}
const connectConcurrency = Math.max(1, job.connectConcurrency ?? 50);
const connectTimeoutMs = job.connectTimeoutMs ?? 30_000;
const fastParse = job.parse !== 'json';

/** Write one JSON line to stdout (stdout is a pipe, which Node writes synchronously on Linux). */
const emit = (/** @type {unknown} */ obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

// ─── Counters ──────────────────────────────────────────────────────────────────────────────────────────
const RESERVOIR_CAP = Math.max(1, job.latencyReservoir ?? 2_000_000);
const reservoir = new Float64Array(RESERVOIR_CAP); // preallocated: no growth while counting
let deliveries = 0; // every counted delivery, including those not kept in the reservoir
let latencySum = 0;
let latencyMax = -Infinity;
let latencyMin = Infinity;
let ignoredFrames = 0; // frames during the window that were not bench deliveries (e.g. {"type":"ready"})
let closed = 0;
/** @type {Record<string, number>} */
const closeCodes = {};
let errors = 0;
/** @type {string[]} a few distinct error messages, to make failures diagnosable */
const errorSamples = [];
let counting = false;
let shuttingDown = false;

/** Record one latency: exact count/sum/min/max, plus reservoir sampling (Algorithm R) once the cap is hit. */
const recordLatency = (/** @type {number} */ ms) => {
  if (deliveries < RESERVOIR_CAP) {
    reservoir[deliveries] = ms;
  } else {
    const j = Math.floor(Math.random() * (deliveries + 1));
    if (j < RESERVOIR_CAP) reservoir[j] = ms;
  }
  deliveries++;
  latencySum += ms;
  if (ms > latencyMax) latencyMax = ms;
  if (ms < latencyMin) latencyMin = ms;
};

const noteError = (/** @type {unknown} */ err) => {
  errors++;
  const message = err instanceof Error ? err.message : String(err);
  if (errorSamples.length < 5 && !errorSamples.includes(message)) errorSamples.push(message);
};

// ─── Frame parsing ─────────────────────────────────────────────────────────────────────────────────────
const TYPE_NEEDLE = Buffer.from('"message.created"');
const TYPE_FIELD_NEEDLE = Buffer.from('"type":"message.created"');
const BODY_NEEDLE = Buffer.from('"body":"bench:');
const BENCH_RE = /^bench:(\d+(?:\.\d+)?):/;

/**
 * Read `digits[.digits]:` starting at `at` straight from the bytes. Returns the number, or -1 when the
 * text there does not match /^\d+(\.\d+)?:/.
 * @param {Buffer} buf
 * @param {number} at
 */
const readTimestamp = (buf, at) => {
  let i = at;
  let value = 0;
  let digits = 0;
  let c = buf[i];
  while (c !== undefined && c >= 0x30 && c <= 0x39) {
    value = value * 10 + (c - 0x30);
    digits++;
    c = buf[++i];
  }
  if (digits === 0) return -1;
  if (c === 0x2e /* . */) {
    let scale = 1;
    let fracDigits = 0;
    c = buf[++i];
    while (c !== undefined && c >= 0x30 && c <= 0x39) {
      scale /= 10;
      value += (c - 0x30) * scale;
      fracDigits++;
      c = buf[++i];
    }
    if (fracDigits === 0) return -1;
  }
  return c === 0x3a /* : */ ? value : -1;
};

/**
 * Slow path: full JSON.parse, exactly the contract's rule. Returns the send timestamp or -1.
 * @param {Buffer} data
 */
const parseTimestampJson = (data) => {
  let frame;
  try {
    frame = JSON.parse(data.toString('utf8'));
  } catch {
    return -1;
  }
  if (frame === null || typeof frame !== 'object' || frame.type !== 'message.created') return -1;
  const body = frame.message?.body;
  if (typeof body !== 'string') return -1;
  const m = BENCH_RE.exec(body);
  return m ? Number(m[1]) : -1;
};

/**
 * 'message' listener shared by every socket (one closure for all, not one per socket).
 * @param {Buffer | ArrayBuffer | Buffer[]} raw
 */
const onMessage = (raw) => {
  if (!counting) return;
  // binaryType is the default 'nodebuffer', so raw is a Buffer (fragments are already concatenated).
  const data = /** @type {Buffer} */ (raw);
  if (data.indexOf(TYPE_NEEDLE) === -1) {
    ignoredFrames++;
    return;
  }
  let sentAt = -1;
  if (fastParse && data.indexOf(TYPE_FIELD_NEEDLE) !== -1) {
    const at = data.indexOf(BODY_NEEDLE);
    if (at !== -1) sentAt = readTimestamp(data, at + BODY_NEEDLE.length);
  }
  if (sentAt < 0) sentAt = parseTimestampJson(data);
  if (sentAt < 0) {
    ignoredFrames++;
    return;
  }
  recordLatency(performance.timeOrigin + performance.now() - sentAt);
};

// ─── Connecting ────────────────────────────────────────────────────────────────────────────────────────
/** @type {WebSocket[]} sockets that opened */
const sockets = [];
let failed = 0;

/**
 * Open one socket; resolves when it is open or has failed (never rejects).
 * @param {ClientSpec} spec
 */
const connectOne = (spec) =>
  new Promise((resolve) => {
    /** @type {Record<string, string>} */
    const headers = {};
    if (spec.token) headers.authorization = `Bearer ${spec.token}`;
    const ws = new WebSocket(spec.url ?? job.url, {
      headers,
      perMessageDeflate: false,
      handshakeTimeout: connectTimeoutMs,
      skipUTF8Validation: true, // we only scan bytes; saves CPU on every frame
    });
    let opened = false;
    ws.on('error', noteError);
    ws.on('message', onMessage);
    ws.once('open', () => {
      opened = true;
      sockets.push(ws);
      resolve(undefined);
    });
    ws.on('close', (code) => {
      if (!opened) {
        failed++;
        resolve(undefined);
        return;
      }
      if (shuttingDown) return; // our own close at the end
      closed++;
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
    });
  });

/** Sliding window: at most connectConcurrency handshakes in flight at any moment. */
const connectAll = async () => {
  let next = 0;
  const worker = async () => {
    while (next < job.clients.length) {
      const spec = job.clients[next++];
      await connectOne(spec ?? {});
    }
  };
  await Promise.all(Array.from({ length: Math.min(connectConcurrency, job.clients.length) }, worker));
};

// ─── Finishing ─────────────────────────────────────────────────────────────────────────────────────────
/** Nearest-rank percentile over a sorted array. */
const pct = (/** @type {Float64Array} */ sorted, /** @type {number} */ p) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

const round = (/** @type {number | null | undefined} */ x) => (x == null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);

/** Close our sockets politely, then forcibly after a short grace period. */
const closeAll = async () => {
  shuttingDown = true;
  const pending = sockets.filter((ws) => ws.readyState !== WebSocket.CLOSED);
  if (pending.length === 0) return;
  await new Promise((resolve) => {
    let left = pending.length;
    const done = () => {
      if (--left === 0) resolve(undefined);
    };
    for (const ws of pending) {
      ws.once('close', done);
      ws.close(1000, 'bench done');
    }
    // Don't let a slow server keep us alive: terminate whatever has not closed after 3 s.
    setTimeout(() => {
      for (const ws of pending) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    }, 3000).unref();
  });
};

let windowStart = 0;
let windowTimer = /** @type {NodeJS.Timeout | undefined} */ (undefined);
let finished = false;

const finish = async () => {
  if (finished) return;
  finished = true;
  counting = false;
  clearTimeout(windowTimer);
  const elapsedMs = performance.now() - windowStart;
  // Freeze the counters before closing, so our own closes cannot change them.
  const kept = Math.min(deliveries, RESERVOIR_CAP);
  const sorted = reservoir.subarray(0, kept).sort(); // typed-array sort is numeric
  const result = {
    type: 'result',
    deliveries,
    elapsedMs: round(elapsedMs),
    deliveriesPerSecond: round(elapsedMs > 0 ? (deliveries * 1000) / elapsedMs : 0),
    latencyMs: {
      p50: round(pct(sorted, 50)),
      p90: round(pct(sorted, 90)),
      p99: round(pct(sorted, 99)),
      max: round(deliveries > 0 ? latencyMax : null),
      min: round(deliveries > 0 ? latencyMin : null),
      mean: round(deliveries > 0 ? latencySum / deliveries : null),
      samples: kept,
    },
    closed,
    closeCodes: { ...closeCodes },
    errors,
    errorSamples,
    ignoredFrames,
  };
  await closeAll();
  emit(result);
  process.exit(0);
};

const startWindow = () => {
  if (counting || finished) return;
  windowStart = performance.now();
  counting = true;
  windowTimer = setTimeout(() => void finish(), job.durationMs);
};

// ─── Main ──────────────────────────────────────────────────────────────────────────────────────────────
let connected = false;
let startRequested = false;

const stdin = createInterface({ input: process.stdin });
stdin.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'start') {
    startRequested = true;
    if (connected) startWindow();
  } else if (cmd === 'stop' && counting) {
    void finish();
  }
});
stdin.on('close', () => {
  // The parent closed our stdin (or died) before the window ended: don't linger as an orphan.
  if (!finished && !counting) {
    shuttingDown = true;
    for (const ws of sockets) ws.terminate();
    process.exit(1);
  }
});

const connectStarted = performance.now();
await connectAll();
connected = true;
emit({
  type: 'connected',
  clients: sockets.length,
  failed,
  connectMs: round(performance.now() - connectStarted),
  errorSamples,
});
if (startRequested) startWindow();
