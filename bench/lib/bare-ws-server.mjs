// bare-ws-server.mjs: the benchmark's "floor", a bare `ws` broadcast server with no auth and no storage.
// It serves the same two routes the chat benchmark drives on Conclave, so the same load-client and poster
// can run against it. The gap between this and Conclave is the cost of auth, storage and fan-out logic.
//
// Plain JavaScript ES module for Node 20 (no build step). Only node: built-ins and the `ws` package.
//
// ─── CLI / IPC contract ──────────────────────────────────────────────────────────────────────────────
// Invocation:  node bare-ws-server.mjs <port> [host]
//   port 0 lets the OS pick one. host defaults to 127.0.0.1.
// stdout (one JSON object per line):
//   {"type":"listening","port":P}   once the server accepts connections.
//   {"type":"stats",...}            once, on SIGTERM/SIGINT, right before exiting (same fields as GET /__stats).
// Signals: SIGTERM (or SIGINT) terminates every socket, closes the server and exits with code 0.
//
// ─── HTTP / WebSocket surface (one port) ─────────────────────────────────────────────────────────────────
//   GET  /api/v1/stream?rooms=r1,r2          WebSocket upgrade. Room ids come from the query string
//                                            (comma-separated; repeated ?rooms= also works). Any
//                                            Authorization header is ignored. On open the server sends
//                                            {"type":"ready","rooms":[...]}.
//   POST /api/v1/rooms/<roomId>/messages     JSON {"body":"..."} → 201 {"id":n,"roomId":..,"body":..};
//                                            broadcasts to every socket subscribed to <roomId>:
//                                            {"type":"message.created","seq":n,"roomId":..,
//                                             "message":{"id":..,"roomId":..,"body":..,"createdAt":ISO}}
//                                            400 if the JSON or body is invalid, 413 if over 64 KiB.
//   GET  /__stats                            JSON counters (connections, posts, frames sent/skipped).
//   Anything else: 404.
//
// ─── Broadcast ─────────────────────────────────────────────────────────────────────────────────────────
// Each broadcast is JSON.stringify'd once and turned into one Buffer, and that same Buffer is sent to every
// subscriber as a text frame (binary: false). Sending a string would make ws/net UTF-8-encode it again
// for every socket; a Buffer is framed without copying. Sockets whose bufferedAmount exceeds 1 MiB are
// skipped (counted in framesSkipped) instead of buffering without bound.
import http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: node bare-ws-server.mjs <port> [host]\n');
  process.exit(2);
}

const MAX_BUFFERED = 1024 * 1024; // skip a subscriber whose send buffer is over 1 MiB
const MAX_BODY = 64 * 1024; // largest POST body accepted
const STREAM_PATH = '/api/v1/stream';
const POST_RE = /^\/api\/v1\/rooms\/([^/?]+)\/messages(?:\?.*)?$/;

const emit = (/** @type {unknown} */ obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

/** @type {Map<string, Set<WebSocket>>} roomId → subscribed sockets */
const rooms = new Map();
/** @type {Set<WebSocket>} every open socket, for shutdown */
const allSockets = new Set();

const stats = { connections: 0, peakConnections: 0, totalConnections: 0, posts: 0, broadcasts: 0, framesSent: 0, framesSkipped: 0 };
let nextId = 1;
let seq = 0;

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {unknown} payload
 */
const sendJson = (res, status, payload) => {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

/** Send one message to every socket in the room: stringify once, encode once, send the same Buffer. */
const broadcast = (/** @type {string} */ roomId, /** @type {object} */ message) => {
  const subscribers = rooms.get(roomId);
  seq++;
  stats.broadcasts++;
  if (!subscribers || subscribers.size === 0) return;
  const frame = Buffer.from(JSON.stringify({ type: 'message.created', seq, roomId, message }));
  for (const ws of subscribers) {
    if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > MAX_BUFFERED) {
      stats.framesSkipped++;
      continue;
    }
    ws.send(frame, { binary: false });
    stats.framesSent++;
  }
};

/** POST /api/v1/rooms/<roomId>/messages */
const handlePost = (/** @type {http.IncomingMessage} */ req, /** @type {http.ServerResponse} */ res, /** @type {string} */ roomId) => {
  /** @type {Buffer[]} */
  const chunks = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) tooLarge = true;
    else chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooLarge) return sendJson(res, 413, { error: 'body too large' });
    let parsed;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return sendJson(res, 400, { error: 'invalid JSON' });
    }
    const body = parsed?.body;
    if (typeof body !== 'string' || body.length === 0) return sendJson(res, 400, { error: 'body must be a non-empty string' });
    stats.posts++;
    const id = nextId++;
    sendJson(res, 201, { id, roomId, body });
    broadcast(roomId, { id, roomId, body, createdAt: new Date().toISOString() });
  });
  req.on('error', () => {});
};

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'POST') {
    const m = POST_RE.exec(url);
    if (m) {
      let roomId;
      try {
        roomId = decodeURIComponent(m[1] ?? '');
      } catch {
        return sendJson(res, 400, { error: 'bad room id' });
      }
      return handlePost(req, res, roomId);
    }
  } else if (req.method === 'GET' && url === '/__stats') {
    return sendJson(res, 200, stats);
  }
  sendJson(res, 404, { error: 'not found' });
});
server.keepAliveTimeout = 30_000; // the poster keeps connections alive; don't churn them mid-run

// noServer + our own 'upgrade' handler, so other paths get a real 404 instead of a hanging socket.
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== STREAM_PATH) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const roomIds = [...new Set(url.searchParams.getAll('rooms').flatMap((v) => v.split(',')).filter((r) => r.length > 0))];
  wss.handleUpgrade(req, socket, head, (ws) => {
    allSockets.add(ws);
    stats.connections++;
    stats.totalConnections++;
    if (stats.connections > stats.peakConnections) stats.peakConnections = stats.connections;
    for (const roomId of roomIds) {
      let set = rooms.get(roomId);
      if (!set) rooms.set(roomId, (set = new Set()));
      set.add(ws);
    }
    ws.on('error', () => {}); // a reset client must not crash the server; 'close' follows
    ws.on('close', () => {
      allSockets.delete(ws);
      stats.connections--;
      for (const roomId of roomIds) {
        const set = rooms.get(roomId);
        if (!set) continue;
        set.delete(ws);
        if (set.size === 0) rooms.delete(roomId);
      }
    });
    ws.send(JSON.stringify({ type: 'ready', rooms: roomIds }));
  });
});

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  emit({ type: 'stats', ...stats });
  for (const ws of allSockets) ws.terminate();
  wss.close();
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(port, host, () => {
  const address = server.address();
  emit({ type: 'listening', port: typeof address === 'object' && address ? address.port : port });
});
