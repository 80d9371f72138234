// smtp-sink.mjs: an SMTP server (smtp-server) in its own process that accepts every mail and counts it.
// Plain JavaScript for Node 20 (no build step).
//
// Invocation: node smtp-sink.mjs '@/path/job.json'   job = {} (nothing to configure yet)
// stdout: {"type":"ready","port":P}; then for each "stats" line on stdin:
//   {"type":"stats","received":N,"bytes":B,"firstAt":ms,"lastAt":ms}   (wall-clock times of the first and last mail)
// and "reset" zeroes the counters.
import { createInterface } from 'node:readline';
import { SMTPServer } from 'smtp-server';

let received = 0;
let bytes = 0;
let firstAt = 0;
let lastAt = 0;

const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  // A sink for many pooled connections from one client.
  maxClients: 1000,
  onData(stream, _session, callback) {
    stream.on('data', (chunk) => {
      bytes += chunk.length;
    });
    stream.on('end', () => {
      const now = Date.now();
      if (received === 0) firstAt = now;
      received += 1;
      lastAt = now;
      callback();
    });
  },
});
server.on('error', (error) => emit({ type: 'error', message: String(error) }));
server.listen(0, '127.0.0.1', () => emit({ type: 'ready', port: server.server.address().port }));

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stats') emit({ type: 'stats', received, bytes, firstAt, lastAt });
  if (line === 'reset') {
    received = 0;
    bytes = 0;
    firstAt = 0;
    lastAt = 0;
    emit({ type: 'reset' });
  }
});
process.stdin.on('end', () => server.close(() => process.exit(0)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
