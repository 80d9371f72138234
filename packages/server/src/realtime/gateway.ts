import type { ClientFrame, ControlFrame, PresenceStatus } from '@conclave/protocol';
import { PRESENCE_SUBSCRIPTION_MAX, STREAM_CLOSE } from '@conclave/protocol';
import type { RawData, WebSocket } from 'ws';
import type { AppContext } from '../context.ts';
import type { AccountRow, Credential } from '../identity/index.ts';
import { TOKEN_PREFIX } from '../crypto/index.ts';
import { findEndedCredentials, followRevocationLog, needsTwoFactorEnrollment, resolveApiToken, resolveSession, type RevocationFeedOptions } from '../identity/index.ts';
import type { BusMessage, RevokeScope } from './event-bus.ts';
import { openEventPayloads } from './event.actions.ts';
import { findSeqBounds, listEventsSince } from './event.queries.ts';
import { findInstanceEpochs, findStreamSubscriptions } from './stream.queries.ts';

/** At most this many missed events are replayed on resume; more means the client should resync. */
export const RESUME_MAX_EVENTS = 1_000;
const TYPING_INTERVAL_MS = 2_000;
const HEARTBEAT_MS = 30_000;
/** Accounts per lookup when every socket is re-validated. */
const RECHECK_CHUNK = 500;

interface Connection {
  socket: WebSocket;
  accountId: string;
  sessionId: string;
  sessionCreatedAt: number;
  /** What `sessionId` names: a session or an API token. */
  credential: 'session' | 'token';
  /** room id → its instance id */
  rooms: Map<string, string>;
  instances: Set<string>;
  /** Instances the account is in that this socket may not hear (epoch, or 2FA not enrolled): joins there are not followed. */
  closedInstances: Set<string>;
  status: 'online' | 'away';
  /** While resuming, live frames wait here (with their seq) until the replay is out. */
  pending: Array<{ seq: number | undefined; frame: string }> | null;
  alive: boolean;
  lastTyping: Map<string, number>;
  /** Whose presence this socket receives. */
  presenceOf: Set<string>;
}

export interface GatewayOptions {
  authTimeoutMs: number;
  maxBufferedBytes: number;
  nodeId: string;
  /** Presence changes are gathered and sent at most this often (default 1 s). */
  presenceFlushMs?: number;
  /** Reading and pruning the revocation log (revocations made by processes the bus does not reach). */
  revocationLog?: RevocationFeedOptions;
}

const addTo = <K, V>(map: Map<K, Set<V>>, key: K, value: V): void => {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
};
const removeFrom = <K, V>(map: Map<K, Set<V>>, key: K, value: V): void => {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
};

/**
 * A client frame: a JSON object in a text frame. A binary frame closes the socket (undefined); anything else
 * that is not a JSON object is 'malformed', answered with an error frame by the caller.
 */
const readFrame = (socket: WebSocket, data: RawData, isBinary: boolean): ClientFrame | 'malformed' | undefined => {
  if (isBinary) {
    socket.close(STREAM_CLOSE.unsupportedData, 'binary frames are not supported');
    return undefined;
  }
  try {
    const frame: unknown = JSON.parse(data.toString());
    return typeof frame === 'object' && frame !== null && !Array.isArray(frame) ? (frame as ClientFrame) : 'malformed';
  } catch {
    return 'malformed';
  }
};

const matchesRevocation = (connection: Connection, scope: RevokeScope): boolean => {
  switch (scope.kind) {
    case 'session':
      return connection.sessionId === scope.sessionId;
    case 'account':
      return connection.accountId === scope.accountId && connection.sessionCreatedAt < scope.notBefore;
    case 'instance':
      return connection.instances.has(scope.instanceId) && connection.sessionCreatedAt < scope.notBefore;
    case 'member':
      return connection.accountId === scope.accountId && connection.instances.has(scope.instanceId) && connection.sessionCreatedAt < scope.notBefore;
    case 'global':
      return connection.sessionCreatedAt < scope.notBefore;
    case 'recheck':
      return false;
  }
};

/** The sockets of this node: who is subscribed to what, and delivery of what the bus carries. */
export const createGateway = (ctx: AppContext, options: GatewayOptions) => {
  const connections = new Set<Connection>();
  const byRoom = new Map<string, Set<Connection>>();
  const byInstance = new Map<string, Set<Connection>>();
  const byAccount = new Map<string, Set<Connection>>();
  /** account → the sockets subscribed to its presence */
  const presenceWatchers = new Map<string, Set<Connection>>();
  const stats = { framesSent: 0, slowConsumersDropped: 0, rechecks: 0 };

  const sendRaw = (connection: Connection, frame: string, seq?: number): void => {
    if (connection.pending) {
      connection.pending.push({ seq, frame });
      return;
    }
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    // A client that cannot keep up is dropped, not buffered without bound; it resumes when it reconnects.
    if (connection.socket.bufferedAmount > options.maxBufferedBytes) {
      ctx.log.warn({ accountId: connection.accountId, bufferedBytes: connection.socket.bufferedAmount }, 'slow stream consumer dropped');
      stats.slowConsumersDropped += 1;
      connection.socket.close(STREAM_CLOSE.slowConsumer, 'slow consumer');
      return;
    }
    stats.framesSent += 1;
    connection.socket.send(frame);
  };
  const sendControl = (connection: Connection, frame: ControlFrame): void => {
    if (connection.socket.readyState === connection.socket.OPEN) connection.socket.send(JSON.stringify(frame));
  };

  const subscribe = (connection: Connection, roomId: string, instanceId: string): void => {
    if (connection.closedInstances.has(instanceId)) return;
    connection.rooms.set(roomId, instanceId);
    addTo(byRoom, roomId, connection);
  };
  const unsubscribe = (connection: Connection, roomId: string): void => {
    connection.rooms.delete(roomId);
    removeFrom(byRoom, roomId, connection);
  };

  const accountStatus = (accountId: string): PresenceStatus => {
    const mine = byAccount.get(accountId);
    if (!mine || mine.size === 0) return 'offline';
    return [...mine].some((c) => c.status === 'online') ? 'online' : 'away';
  };
  // Presence is coalesced: announcing each socket to every other socket of a 5,000-person instance as it
  // connects would be 12.5 million frames. Changes wait here and leave together, once per flush.
  const dirtyPresence = new Map<string, Set<string>>();
  const announcePresence = (accountId: string, instanceIds: Iterable<string>): void => {
    const instances = dirtyPresence.get(accountId) ?? new Set<string>();
    for (const id of instanceIds) instances.add(id);
    dirtyPresence.set(accountId, instances);
  };
  const flushPresence = (): void => {
    if (dirtyPresence.size === 0) return;
    const changes = [...dirtyPresence].map(([accountId, instanceIds]) => ({ accountId, status: accountStatus(accountId), instanceIds: [...instanceIds] }));
    dirtyPresence.clear();
    void ctx.bus.publish([{ kind: 'presence', nodeId: options.nodeId, changes }]).catch((error: unknown) => ctx.log.warn({ err: error }, 'presence publish failed'));
  };
  const presenceTimer = setInterval(flushPresence, options.presenceFlushMs ?? 1_000);
  presenceTimer.unref();

  const closeRevoked = (connection: Connection): void => {
    connection.pending = null;
    sendControl(connection, { type: 'session.revoked', reason: 'This session has ended; log in again.' });
    connection.socket.close(STREAM_CLOSE.sessionRevoked, 'session revoked');
  };

  /** Re-validates every socket against the database in bulk, and closes those whose credential no longer stands. */
  const recheckConnections = async (): Promise<void> => {
    stats.rechecks += 1;
    const held = [...connections];
    if (held.length === 0) return;
    const ended = await findEndedCredentials(ctx, held.map((c) => ({ id: c.sessionId, kind: c.credential })));
    // The instances a socket hears are governed by their own epochs too (an instance's, a membership's).
    const accountIds = [...new Set(held.map((c) => c.accountId))];
    const instanceEpochs = new Map<string, number>();
    for (let i = 0; i < accountIds.length; i += RECHECK_CHUNK) {
      for (const row of await findInstanceEpochs(ctx.database.db, accountIds.slice(i, i + RECHECK_CHUNK))) instanceEpochs.set(`${row.account_id} ${row.instance_id}`, row.not_before);
      if (i + RECHECK_CHUNK < accountIds.length) await new Promise((resolve) => setImmediate(resolve));
    }
    let closed = 0;
    for (const connection of held) {
      if (!connections.has(connection)) continue;
      const instanceRevoked = [...connection.instances].some((id) => connection.sessionCreatedAt < (instanceEpochs.get(`${connection.accountId} ${id}`) ?? -Infinity));
      if (!ended.has(connection.sessionId) && !instanceRevoked) continue;
      closeRevoked(connection);
      closed += 1;
    }
    ctx.log.info({ sockets: held.length, closed }, 'sockets re-validated');
  };
  // At most one recheck runs and one waits: any number of requests meanwhile are answered by the waiting one,
  // which starts after the running one and so sees every epoch written before they were made.
  let rechecking: Promise<void> | undefined;
  let recheckAgain = false;
  let closing = false;
  const requestRecheck = (): void => {
    if (closing) return;
    if (rechecking) {
      recheckAgain = true;
      return;
    }
    rechecking = (async () => {
      do {
        recheckAgain = false;
        try {
          await recheckConnections();
        } catch (error) {
          ctx.log.error({ err: error }, 'socket recheck failed');
        }
      } while (recheckAgain && !closing);
    })().finally(() => {
      rechecking = undefined;
    });
  };

  /** A revocation, from the bus or the revocation log: the same one arriving both ways closes nothing twice. */
  const applyRevocation = (scope: RevokeScope): void => {
    if (scope.kind === 'recheck') {
      requestRecheck();
      return;
    }
    const candidates = scope.kind === 'account' || scope.kind === 'member' ? (byAccount.get(scope.accountId) ?? []) : connections;
    for (const connection of [...candidates]) if (matchesRevocation(connection, scope)) closeRevoked(connection);
  };

  const deliver = (message: BusMessage): void => {
    if (message.kind === 'event') {
      const { event, audience, subjectId } = message;
      const frame = JSON.stringify(event); // encoded once, whatever the number of sockets
      const targets = new Set<Connection>();
      if (event.type === 'room.created') {
        for (const memberId of event.memberIds) {
          for (const connection of byAccount.get(memberId) ?? []) {
            subscribe(connection, event.room.id, event.room.instanceId);
            targets.add(connection);
          }
        }
      }
      if (event.type === 'member.joined') {
        for (const connection of byAccount.get(event.accountId) ?? []) subscribe(connection, event.roomId, event.room.instanceId);
      }
      const audienceSet = audience.kind === 'room' ? byRoom.get(audience.roomId) : audience.kind === 'instance' ? byInstance.get(audience.instanceId) : byAccount.get(audience.accountId);
      for (const connection of audienceSet ?? []) targets.add(connection);
      if (subjectId) for (const connection of byAccount.get(subjectId) ?? []) targets.add(connection);
      for (const connection of targets) sendRaw(connection, frame, event.seq);
      ctx.metrics.eventFannedOut(targets.size);
      if (event.type === 'member.left') {
        for (const connection of byAccount.get(event.accountId) ?? []) unsubscribe(connection, event.roomId);
      }
      return;
    }
    if (message.kind === 'ephemeral') {
      const frame = JSON.stringify(message.event);
      const audience = message.audience;
      const set = audience.kind === 'room' ? byRoom.get(audience.roomId) : audience.kind === 'instance' ? byInstance.get(audience.instanceId) : byAccount.get(audience.accountId);
      for (const connection of set ?? []) sendRaw(connection, frame);
      return;
    }
    if (message.kind === 'presence') {
      // Each socket gets one frame with the changes of the people it watches; its cost follows the
      // subscriptions, not the size of the instance.
      const perConnection = new Map<Connection, Array<{ accountId: string; status: PresenceStatus }>>();
      for (const change of message.changes) {
        for (const connection of presenceWatchers.get(change.accountId) ?? []) {
          const list = perConnection.get(connection) ?? [];
          list.push({ accountId: change.accountId, status: ctx.presence.statusOf(change.accountId) });
          perConnection.set(connection, list);
        }
      }
      for (const [connection, changes] of perConnection) sendRaw(connection, JSON.stringify({ type: 'presence', changes }));
      return;
    }
    applyRevocation(message.scope);
  };

  const stopListening = ctx.bus.subscribe(deliver);
  const revocationLog = followRevocationLog(ctx, applyRevocation, options.revocationLog);

  const detach = (connection: Connection): void => {
    if (!connections.delete(connection)) return;
    for (const roomId of connection.rooms.keys()) removeFrom(byRoom, roomId, connection);
    for (const instanceId of connection.instances) removeFrom(byInstance, instanceId, connection);
    removeFrom(byAccount, connection.accountId, connection);
    for (const accountId of connection.presenceOf) removeFrom(presenceWatchers, accountId, connection);
    announcePresence(connection.accountId, connection.instances);
  };

  const handleFrame = (connection: Connection, frame: ClientFrame | { type?: unknown }): void => {
    switch (frame.type) {
      case 'ping':
        sendControl(connection, { type: 'pong' });
        return;
      case 'typing': {
        const roomId = (frame as { roomId?: unknown }).roomId;
        const instanceId = typeof roomId === 'string' ? connection.rooms.get(roomId) : undefined;
        if (typeof roomId !== 'string' || instanceId === undefined) {
          sendControl(connection, { type: 'error', code: 'ROOM_NOT_FOUND', message: 'Typing is only announced in rooms you are in.' });
          return;
        }
        const now = ctx.now();
        if (now - (connection.lastTyping.get(roomId) ?? 0) < TYPING_INTERVAL_MS) return;
        connection.lastTyping.set(roomId, now);
        void ctx.bus.publish([{ kind: 'ephemeral', event: { type: 'typing', roomId, accountId: connection.accountId }, audience: { kind: 'room', roomId, instanceId } }]);
        return;
      }
      case 'presence': {
        const status = (frame as { status?: unknown }).status;
        if (status !== 'online' && status !== 'away') {
          sendControl(connection, { type: 'error', code: 'VALIDATION_FAILED', message: 'status must be online or away.' });
          return;
        }
        connection.status = status;
        announcePresence(connection.accountId, connection.instances);
        return;
      }
      case 'presence.subscribe': {
        const ids = (frame as { accountIds?: unknown }).accountIds;
        if (!Array.isArray(ids) || ids.length > PRESENCE_SUBSCRIPTION_MAX || !ids.every((id) => typeof id === 'string' && id.length <= 64)) {
          sendControl(connection, { type: 'error', code: 'VALIDATION_FAILED', message: `accountIds must be a list of at most ${PRESENCE_SUBSCRIPTION_MAX} ids.` });
          return;
        }
        for (const accountId of connection.presenceOf) removeFrom(presenceWatchers, accountId, connection);
        connection.presenceOf = new Set(ids as string[]);
        for (const accountId of connection.presenceOf) addTo(presenceWatchers, accountId, connection);
        const changes = [...connection.presenceOf].map((accountId) => ({ accountId, status: ctx.presence.statusOf(accountId) }));
        sendRaw(connection, JSON.stringify({ type: 'presence', changes }));
        return;
      }
      case 'auth':
        sendControl(connection, { type: 'error', code: 'ALREADY_AUTHENTICATED', message: 'This stream is already authenticated.' });
        return;
      default:
        sendControl(connection, { type: 'error', code: 'UNKNOWN_FRAME_TYPE', message: 'Frame types: ping, typing, presence, presence.subscribe.' });
    }
  };

  /** A replay reads room content: one audit entry per room, recorded before anything is sent. */
  const recordReplay = async (connection: Connection, rows: Array<{ seq: number; room_id: string | null; instance_id: string | null }>): Promise<void> => {
    const byRoom = new Map<string, { instanceId: string | null; seqs: number[] }>();
    for (const row of rows) {
      if (row.room_id === null) continue;
      const entry = byRoom.get(row.room_id) ?? { instanceId: row.instance_id, seqs: [] };
      entry.seqs.push(row.seq);
      byRoom.set(row.room_id, entry);
    }
    await Promise.all(
      [...byRoom].map(([roomId, { instanceId, seqs }]) =>
        ctx.audit.record({
          action: 'room.read',
          instanceId,
          roomId,
          actorId: connection.accountId,
          sessionId: connection.sessionId,
          detail: { kind: 'replay', events: seqs.length, fromSeq: seqs[0], toSeq: seqs[seqs.length - 1] },
        }),
      ),
    );
  };

  /** Replays what a reconnecting client missed, or tells it to resync; then releases live frames held meanwhile. */
  const resume = async (connection: Connection, since: number | undefined): Promise<void> => {
    const bounds = await findSeqBounds(ctx.database.db);
    const current = bounds.max ?? 0;
    let replayedTo = current;
    let resumed = false;
    if (since !== undefined) {
      const tooOld = since < (bounds.min ?? current + 1) - 1 || since > current;
      const rows = tooOld ? [] : await listEventsSince(ctx.database.db, since, connection.accountId, [...connection.instances], RESUME_MAX_EVENTS + 1);
      if (tooOld || rows.length > RESUME_MAX_EVENTS) {
        sendControl(connection, { type: 'resync', reason: 'Too much was missed: take a fresh snapshot.' });
      } else {
        await recordReplay(connection, rows);
        for (const row of await openEventPayloads(ctx, rows)) connection.socket.send(`${row.payload.slice(0, -1)},"seq":${row.seq}}`);
        replayedTo = Math.max(since, rows.at(-1)?.seq ?? since);
        resumed = true;
      }
    }
    const held = connection.pending ?? [];
    connection.pending = null;
    sendControl(connection, { type: 'ready', seq: Math.max(replayedTo, ...held.map((h) => h.seq ?? 0)), resumed, accountId: connection.accountId });
    for (const { seq, frame } of held) if (seq === undefined || seq > replayedTo) sendRaw(connection, frame, seq);
  };

  /** A session, or an API token with the read scope: the stream only reads. */
  const resolveStreamCredential = async (token: string): Promise<{ account: AccountRow; session: Credential; credential: 'session' | 'token' } | 'scope' | undefined> => {
    if (!token.startsWith(TOKEN_PREFIX.apiToken)) {
      const found = await resolveSession(ctx, token);
      return found && { ...found, credential: 'session' };
    }
    const found = await resolveApiToken(ctx, token);
    if (!found) return undefined;
    if (!found.scopes.includes('read')) return 'scope';
    return { account: found.account, session: { id: found.token.id, created_at: found.token.created_at }, credential: 'token' };
  };

  const authenticate = async (socket: WebSocket, token: string, since: number | undefined): Promise<void> => {
    const resolved = await resolveStreamCredential(token);
    if (resolved === undefined || resolved === 'scope') {
      const refusal: ControlFrame =
        resolved === 'scope'
          ? { type: 'error', code: 'TOKEN_SCOPE_MISSING', message: 'A stream needs an API token with the "read" scope.' }
          : { type: 'error', code: 'UNAUTHENTICATED', message: 'Log in to continue.' };
      socket.send(JSON.stringify(refusal));
      socket.close(STREAM_CLOSE.unauthenticated, 'unauthenticated');
      return;
    }
    // `session` is the session, or the API token (its id and creation time): revocations find sockets by them.
    const { account, session } = resolved;
    const subscriptions = await findStreamSubscriptions(ctx.database.db, account.id);
    // An instance whose credential epoch is newer than this session is left out, as its HTTP API is, and one
    // whose two-factor requirement this person has not met (they enroll, then reconnect).
    const open = (row: (typeof subscriptions.instances)[number]): boolean =>
      session.created_at >= row.not_before && !needsTwoFactorEnrollment(row.two_factor_required, account.is_operator === 1 ? 'owner' : row.role, account);
    const instanceIds = new Set(subscriptions.instances.filter(open).map((row) => row.id));
    const closedInstances = new Set(subscriptions.instances.filter((row) => !open(row)).map((row) => row.id));
    if (socket.readyState !== socket.OPEN) return;
    const connection: Connection = {
      socket,
      accountId: account.id,
      sessionId: session.id,
      sessionCreatedAt: session.created_at,
      credential: resolved.credential,
      rooms: new Map(),
      instances: instanceIds,
      closedInstances,
      status: 'online',
      pending: [],
      alive: true,
      lastTyping: new Map(),
      presenceOf: new Set(),
    };
    connections.add(connection);
    addTo(byAccount, account.id, connection);
    for (const instanceId of instanceIds) addTo(byInstance, instanceId, connection);
    for (const room of subscriptions.rooms) if (instanceIds.has(room.instance_id)) subscribe(connection, room.id, room.instance_id);
    socket.on('close', () => detach(connection));
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.removeAllListeners('message');
    socket.on('message', (data, isBinary) => {
      const frame = readFrame(socket, data, isBinary);
      if (frame === 'malformed') sendControl(connection, { type: 'error', code: 'MALFORMED_FRAME', message: 'Frames are JSON objects.' });
      else if (frame) handleFrame(connection, frame);
    });
    ctx.log.debug({ accountId: account.id, sessionId: session.id, rooms: connection.rooms.size }, 'stream opened');
    // What this socket will hear, from now until it closes: a read of those rooms, recorded before any frame.
    await ctx.audit.record({ action: 'stream.open', actorId: account.id, sessionId: session.id, detail: { rooms: [...connection.rooms.keys()].sort() } });
    announcePresence(account.id, instanceIds);
    await resume(connection, since);
  };

  const heartbeat = setInterval(() => {
    for (const connection of connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return {
    /** A new socket: authenticated by header or cookie already, or by an `auth` frame within the timeout. */
    attach(socket: WebSocket, credentials: { token: string | undefined; since: number | undefined }): void {
      const fail = (error: unknown) => {
        ctx.log.error({ err: error }, 'stream set-up failed');
        socket.close(1011, 'internal error');
      };
      if (credentials.token) {
        authenticate(socket, credentials.token, credentials.since).catch(fail);
        return;
      }
      const timer = setTimeout(() => socket.close(STREAM_CLOSE.authTimeout, 'authentication timeout'), options.authTimeoutMs);
      socket.once('close', () => clearTimeout(timer));
      socket.on('message', (data, isBinary) => {
        const frame = readFrame(socket, data, isBinary);
        if (frame === undefined) return;
        if (frame === 'malformed' || frame.type !== 'auth' || typeof (frame as { token?: unknown }).token !== 'string') {
          socket.send(JSON.stringify({ type: 'error', code: 'UNAUTHENTICATED', message: 'Send {"type":"auth","token":"…"} first.' }));
          return;
        }
        clearTimeout(timer);
        socket.removeAllListeners('message');
        authenticate(socket, (frame as { token: string }).token, credentials.since).catch(fail);
      });
    },
    get connectionCount() {
      return connections.size;
    },
    /** Counters since start (frames sent, slow consumers dropped, rechecks run). */
    stats,
    async close(): Promise<void> {
      closing = true;
      clearInterval(heartbeat);
      clearInterval(presenceTimer);
      stopListening();
      await revocationLog.stop();
      await rechecking;
      for (const connection of [...connections]) connection.socket.close(STREAM_CLOSE.goingAway, 'server shutting down');
    },
  };
};

export type Gateway = ReturnType<typeof createGateway>;
