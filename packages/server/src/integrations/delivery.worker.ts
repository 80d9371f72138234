import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { AppContext } from '../context.ts';
import { accessRoom } from '../chat/index.ts';
import { findAccount, findServerState, type Actor } from '../identity/index.ts';
import { claimDeliveries, findDueDeliveryIds, finishDelivery, requeueExpiredDeliveries, type DeliveryOutcome, type DeliveryRow } from './delivery.queries.ts';
import { signatureOf } from './delivery.signature.ts';
import { openOutgoingHook } from './outgoing-hook.actions.ts';
import { findOutgoingHook } from './outgoing-hook.queries.ts';
import { isPrivateAddress, guardedLookup } from './outgoing-hook.target.ts';

export interface DeliveryWorkerOptions {
  /** How often the queue is looked at when idle. */
  pollMs?: number;
  /** A claim older than this is taken back (its node stopped). */
  leaseMs?: number;
  /** The wait before the second attempt; it doubles each time, up to `backoffMaxMs`. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** After this many attempts a delivery is failed for good. */
  maxAttempts?: number;
  /** A receiver that has not answered by then has failed this attempt. */
  timeoutMs?: number;
  /** Deliveries in flight at once on this node. */
  concurrency?: number;
}

export const DELIVERY_DEFAULTS: Required<DeliveryWorkerOptions> = {
  pollMs: 1_000,
  leaseMs: 60_000,
  backoffBaseMs: 10_000,
  backoffMaxMs: 3_600_000,
  maxAttempts: 8,
  timeoutMs: 10_000,
  concurrency: 8,
};

/** The wait after a failed attempt (1-based): base, 2·base, 4·base… capped. */
export const backoffMs = (attempt: number, options: Pick<Required<DeliveryWorkerOptions>, 'backoffBaseMs' | 'backoffMaxMs'>): number =>
  Math.min(options.backoffMaxMs, options.backoffBaseMs * 2 ** Math.max(0, attempt - 1));

interface SendResult {
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
}

const RESPONSE_BODY_READ_MAX = 64 * 1024;

/** One POST, no redirects followed (a redirect could lead anywhere), the answer's body read and dropped. */
const send = (url: URL, headers: Record<string, string>, body: string, options: { timeoutMs: number; allowPrivate: boolean }): Promise<SendResult> =>
  new Promise((resolve) => {
    const started = performance.now();
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!options.allowPrivate && isIP(host) !== 0 && isPrivateAddress(host)) {
      resolve({ statusCode: null, latencyMs: null, error: 'the target is a private address' });
      return;
    }
    const requester = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (result: SendResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const req = requester(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: guardedLookup(options.allowPrivate), timeout: options.timeoutMs },
      (response: IncomingMessage) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > RESPONSE_BODY_READ_MAX) response.destroy();
        });
        const done = (): void => {
          const statusCode = response.statusCode ?? 0;
          finish({ statusCode, latencyMs: Math.round(performance.now() - started), error: statusCode >= 200 && statusCode < 300 ? null : `the receiver answered HTTP ${statusCode}` });
        };
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    req.on('timeout', () => {
      req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ETIMEDOUT' ? `no answer within ${options.timeoutMs} ms` : error.code === 'EPRIVATE' ? 'the target resolves to a private address' : `the connection failed (${error.code ?? 'error'})`;
      finish({ statusCode: null, latencyMs: Math.round(performance.now() - started), error: reason });
    });
    req.end(body);
  });

/**
 * Delivers outgoing webhooks from the queue (decision 0020): claims due deliveries with a lease (several nodes
 * never send one twice at once; a stopped node's claims are taken back), checks the hook is live and that its
 * owner may still read the room (accessRoom), records the content leaving in the audit log before it leaves,
 * signs, sends, and retries with exponential backoff. At least once: a receiver dedupes by the delivery id.
 */
export const createDeliveryWorker = (ctx: AppContext, overrides: DeliveryWorkerOptions = {}) => {
  const options = { ...DELIVERY_DEFAULTS, ...overrides };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = true;

  const outcomeAfterFailure = (row: DeliveryRow, result: SendResult, now: number): DeliveryOutcome =>
    row.attempts >= options.maxAttempts
      ? { status: 'failed', statusCode: result.statusCode, latencyMs: result.latencyMs, error: `${result.error ?? 'failed'}; gave up after ${row.attempts} attempts`, now }
      : { status: 'queued', statusCode: result.statusCode, latencyMs: result.latencyMs, error: result.error ?? 'failed', nextAttemptAt: now + backoffMs(row.attempts, options), now };

  const deliverOne = async (row: DeliveryRow): Promise<void> => {
    const hook = await findOutgoingHook(ctx.database.db, row.hook_id);
    if (!hook || hook.revoked_at !== null) {
      await finishDelivery(ctx.database.db, row, { status: 'failed', statusCode: null, latencyMs: null, error: 'the webhook was revoked', now: ctx.now() });
      return;
    }
    // The hook reads the room as its owner would: an owner who lost the room (or an epoch that ended the hook) stops it.
    const owner = await findAccount(ctx, hook.created_by);
    const actor: Actor | undefined = owner && { account: owner, session: { id: hook.id, created_at: hook.created_at }, via: 'token', token: '', apiToken: { id: hook.id, scopes: ['read'] } };
    try {
      if (!actor) throw new Error('no owner');
      // A server-wide credential epoch (containment) ends hooks made before it; the instance's is checked by accessRoom.
      if (hook.created_at < (await findServerState(ctx.database.db)).not_before) throw new Error('ended by an epoch');
      await accessRoom(ctx, actor, row.room_id, 'read');
    } catch {
      await finishDelivery(ctx.database.db, row, { status: 'failed', statusCode: null, latencyMs: null, error: 'the webhook\'s owner may no longer read the room, or a credential revocation ended the webhook', now: ctx.now() });
      return;
    }
    const listing = await openOutgoingHook(ctx, hook);
    const body = (await ctx.keyring.owner(row.room_id, [row.payload])).open('hook_deliveries.payload', row.id, row.payload);
    const url = new URL(listing.target.url);
    // Room content leaves the server: recorded before it does (a delivery that cannot be recorded is not sent).
    await ctx.audit.record({
      action: 'hook.deliver',
      instanceId: hook.instance_id,
      roomId: row.room_id,
      actorId: hook.created_by,
      sessionId: hook.id,
      detail: { hookId: hook.id, deliveryId: row.id, event: row.event_type, seq: row.event_seq, attempt: row.attempts, host: url.host },
    });
    const timestamp = Math.floor(ctx.now() / 1000);
    const result = await send(
      url,
      {
        'content-type': 'application/json',
        'user-agent': 'Conclave-Webhooks/1',
        'x-conclave-event': row.event_type,
        'x-conclave-delivery': row.id,
        'x-conclave-timestamp': String(timestamp),
        'x-conclave-signature': signatureOf(listing.target.secret, timestamp, body),
      },
      body,
      { timeoutMs: options.timeoutMs, allowPrivate: ctx.config.webhookAllowPrivateTargets },
    );
    const now = ctx.now();
    const outcome: DeliveryOutcome =
      result.error === null && result.statusCode !== null
        ? { status: 'delivered', statusCode: result.statusCode, latencyMs: result.latencyMs ?? 0, now }
        : outcomeAfterFailure(row, result, now);
    if (!(await finishDelivery(ctx.database.db, row, outcome))) ctx.log.warn({ deliveryId: row.id }, 'a webhook delivery\'s lease expired while it was sent; another node may send it again');
  };

  /** One pass: take back expired claims, claim what is due, deliver it. Returns how many were attempted. */
  const runOnce = async (): Promise<number> => {
    const now = ctx.now();
    await requeueExpiredDeliveries(ctx.database.db, now - options.leaseMs, now);
    const ids = await findDueDeliveryIds(ctx.database.db, now, options.concurrency);
    const claimed = await claimDeliveries(ctx.database.db, ids, ctx.nodeId, now);
    await Promise.all(
      claimed.map((row) =>
        deliverOne(row).catch(async (error: unknown) => {
          ctx.log.error({ err: error, deliveryId: row.id }, 'webhook delivery failed on our side; retried later');
          await finishDelivery(ctx.database.db, row, outcomeAfterFailure(row, { statusCode: null, latencyMs: null, error: 'the server could not send it' }, ctx.now())).catch(() => undefined);
        }),
      ),
    );
    return claimed.length;
  };

  const loop = (): void => {
    if (stopped) return;
    running = runOnce()
      .catch((error: unknown) => {
        ctx.log.error({ err: error }, 'webhook delivery pass failed');
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
    void running.then((count) => {
      if (stopped) return;
      timer = setTimeout(loop, count > 0 ? 0 : options.pollMs);
    });
  };

  return {
    runOnce,
    start(): void {
      if (!stopped) return;
      stopped = false;
      loop();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
};

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>;
