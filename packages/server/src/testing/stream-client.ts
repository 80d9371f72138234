import WebSocket from 'ws';
import type { ServerFrame } from '@conclave/protocol';

export interface StreamClient {
  socket: WebSocket;
  frames: ServerFrame[];
  /** Resolves with the first frame at or after index `from` (already received or still to come) that matches. */
  next<T extends ServerFrame = ServerFrame>(match: (frame: ServerFrame) => boolean, timeoutMs?: number, from?: number): Promise<T>;
  /** Resolves with the close code. */
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  close(): void;
}

/** A real WebSocket client of /api/v1/stream, keeping every frame it receives. */
export const openStream = (baseUrl: string, options: { token?: string; cookie?: string; origin?: string; since?: number } = {}): Promise<StreamClient> =>
  new Promise((resolve, reject) => {
    const url = `${baseUrl.replace(/^http/, 'ws')}/api/v1/stream${options.since !== undefined ? `?since=${options.since}` : ''}`;
    const headers: Record<string, string> = {};
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    if (options.cookie) headers['cookie'] = options.cookie;
    if (options.origin) headers['origin'] = options.origin;
    const socket = new WebSocket(url, { headers, perMessageDeflate: false });
    const frames: ServerFrame[] = [];
    const waiters: Array<{ match: (frame: ServerFrame) => boolean; resolve: (frame: ServerFrame) => void }> = [];
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame;
      frames.push(frame);
      for (const waiter of [...waiters]) {
        if (waiter.match(frame)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
    const closed = new Promise<{ code: number; reason: string }>((done) => socket.on('close', (code, reason) => done({ code, reason: reason.toString() })));
    socket.once('error', reject);
    socket.once('open', () =>
      resolve({
        socket,
        frames,
        closed,
        next: <T extends ServerFrame>(match: (frame: ServerFrame) => boolean, timeoutMs = 5_000, from = 0) =>
          new Promise<T>((done, fail) => {
            const already = frames.slice(from).find(match);
            if (already) {
              done(already as T);
              return;
            }
            const timer = setTimeout(() => fail(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames).slice(-1500)}`)), timeoutMs);
            waiters.push({
              match,
              resolve: (frame) => {
                clearTimeout(timer);
                done(frame as T);
              },
            });
          }),
        send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
        close: () => socket.close(),
      }),
    );
  });

export const isType =
  (type: string, extra: (frame: ServerFrame & Record<string, unknown>) => boolean = () => true) =>
  (frame: ServerFrame): boolean =>
    frame.type === type && extra(frame as ServerFrame & Record<string, unknown>);

/** The close code and reason, or a rejection once `timeoutMs` passed with the socket still open. */
export const closedWithin = async (stream: StreamClient, timeoutMs = 5_000): Promise<{ code: number; reason: string }> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the socket was still open after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([stream.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/** Whether the socket is open and served: it answers a ping with a pong. */
export const answersPing = async (stream: StreamClient, timeoutMs = 5_000): Promise<boolean> => {
  if (stream.socket.readyState !== stream.socket.OPEN) return false;
  const from = stream.frames.length;
  stream.send({ type: 'ping' });
  try {
    await Promise.race([stream.next(isType('pong'), timeoutMs, from), stream.closed.then(() => Promise.reject(new Error('closed')))]);
    return true;
  } catch {
    return false;
  }
};
