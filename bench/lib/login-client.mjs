// Worker thread: N concurrent log-in loops against the server for a fixed time, reporting latencies.
// Plain JavaScript: on Node 20 a worker does not inherit the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ url: string, accounts: Array<{ email: string, password: string }>, concurrency: number, durationMs: number }} */
const job = workerData;
/** @type {number[]} */
const latencies = [];
/** @type {Record<string, number>} */
const statuses = {};
const deadline = performance.now() + job.durationMs;

/** @param {number} index */
const loop = async (index) => {
  const account = job.accounts[index % job.accounts.length];
  while (performance.now() < deadline) {
    const started = performance.now();
    const response = await fetch(job.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: account.email, password: account.password, mode: 'bearer' }),
    });
    await response.arrayBuffer();
    latencies.push(performance.now() - started);
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
  }
};

const started = performance.now();
await Promise.all(Array.from({ length: job.concurrency }, (_, i) => loop(i)));
parentPort?.postMessage({ latencies, statuses, elapsedMs: performance.now() - started });
