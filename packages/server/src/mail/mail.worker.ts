import type { AppContext } from '../context.ts';
import type { MailKind } from '../db/index.ts';
import type { RenderedMail } from './mail.templates.ts';
import { createSmtpTransport, describeSendFailure, type MailTransport } from './mail.transport.ts';
import { createBatcher } from './mail.batcher.ts';
import { messageIdOf, onMailQueued, openMail, sealMailContent, sealMailError, sealMailRecipient } from './outbox.actions.ts';
import {
  claimMails,
  findDueMailIds,
  findExpiredClaims,
  finishClaims,
  pruneEndedMails,
  requeueExpiredClaim,
  type Claim,
  type ClaimOutcome,
  type MailRow,
} from './outbox.queries.ts';

/** A mail rendered just before it is sent: its address and what it says. */
export interface RenderedDelivery {
  to: string;
  rendered: RenderedMail;
}

/**
 * Renders claimed mails that were queued without content (an incident mailing's: the address is read and a
 * reset link made at that moment), several at once when several were claimed together: one answer per mail,
 * in order, a MailNotRenderable for one that can never be sent (it fails with that reason) or another Error
 * for one to try again later. `batch` lives for one pass over the outbox: what many mails share (the mailing,
 * the incident) is opened once per pass.
 */
export type MailRenderer = (ctx: AppContext, mails: MailRow[], batch: Map<string, unknown>) => Promise<Array<RenderedDelivery | Error>>;
/** By kind; the mail domain knows none itself (the incidents domain provides its own where the worker is made). */
export type MailRenderers = Partial<Record<MailKind, MailRenderer>>;

/** A mail that can never be rendered (its account is gone): failed with this reason, nothing sent. */
export class MailNotRenderable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'MailNotRenderable';
  }
}

export interface MailWorkerOptions {
  transport: MailTransport;
  /** Mails in flight at once (and SMTP connections in the pool); default DEFAULT_MAIL_CONCURRENCY. */
  concurrency?: number;
  /** How often the outbox is read when nothing woke the worker (other nodes' mail, retries). */
  pollMs?: number;
  /** A claim older than this is taken to belong to a node that stopped: the mail goes again. */
  leaseMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  maxAttempts?: number;
  /** Due mails read per pass (each is still claimed only when a sending slot is free for it); default 20 per slot. */
  batchSize?: number;
  /** Renderers for mails queued without content, by kind; a worker without one for a kind leaves those mails queued. */
  renderers?: MailRenderers;
  /**
   * Mails that ended (sent or failed) longer ago than this are deleted (an incident mailing's stay with their
   * incident); undefined: kept. `conclave serve` takes MAIL_RETENTION (default 30 days).
   */
  retentionMs?: number;
  /** How often ended mails are pruned when `retentionMs` is set; default an hour. */
  pruneEveryMs?: number;
  /** Tests only (no configuration reaches them): pause after claiming or after the SMTP server accepted. */
  hooks?: { afterClaim?(mail: MailRow): Promise<void>; afterAccepted?(mail: MailRow): Promise<void> };
}

export interface MailWorker {
  start(): void;
  /** Claims nothing more, lets the mails in flight finish (at most `graceMs`), and closes the transport. */
  stop(graceMs?: number): Promise<void>;
  /** Delivers every mail due now, then returns (tests, and the worker's own loop). */
  runOnce(): Promise<number>;
  /** Mails sent at once. */
  readonly concurrency: number;
  readonly stats: { sent: number; retried: number; failed: number; recovered: number; pruned: number };
}

/** Exponential backoff with jitter: base · 2^(attempt-1), capped, ±20%. */
export const retryDelayMs = (attempt: number, baseMs: number, maxMs: number): number => {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + Math.random() * 0.4));
};

/** Mails a worker sends at once unless told otherwise; `conclave serve` takes MAIL_CONCURRENCY (default 16). */
export const DEFAULT_MAIL_CONCURRENCY = 16;

interface Composed {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Rendered now (no stored content): its address is kept, sealed, once it went out. */
  renderedNow: boolean;
}

/**
 * Delivers the outbox over SMTP. Each mail is claimed by a conditional update when a sending slot is free for
 * it, just before it is sent (so a claim means "possibly handed to the SMTP server"), marked sent right after
 * the server's 250, retried with backoff on temporary failures, failed with the reason on permanent ones or
 * when its link expired. A mail left in `sending` by a node that died is sent again once its lease expires,
 * with the same Message-ID: at-least-once, the duplicate window being the instant between the 250 and the
 * commit (decision 0014). Claims, renderings and outcomes that happen together are written together (group
 * commit): never more claims than slots, and nothing waits for a group to fill.
 */
export const createMailWorker = (ctx: AppContext, options: MailWorkerOptions): MailWorker => {
  const concurrency = options.concurrency ?? DEFAULT_MAIL_CONCURRENCY;
  const pollMs = options.pollMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 120_000;
  const retryBaseMs = options.retryBaseMs ?? 15_000;
  const retryMaxMs = options.retryMaxMs ?? 3_600_000;
  const maxAttempts = options.maxAttempts ?? 8;
  const batchSize = options.batchSize ?? concurrency * 20;
  const db = ctx.database.db;
  const stats = { sent: 0, retried: 0, failed: 0, recovered: 0, pruned: 0 };
  const pruneEveryMs = options.pruneEveryMs ?? 3_600_000;
  let prunedAt = Number.NEGATIVE_INFINITY;

  /** At most once per `pruneEveryMs`, in bounded batches, so a large backlog never holds a long write. */
  const pruneEndedIfDue = async (): Promise<void> => {
    if (options.retentionMs === undefined) return;
    const now = ctx.now();
    if (now - prunedAt < pruneEveryMs) return;
    prunedAt = now;
    let deleted: number;
    do {
      deleted = await pruneEndedMails(db, now - options.retentionMs, 1_000);
      stats.pruned += deleted;
    } while (deleted === 1_000 && (running || loop === undefined));
    if (stats.pruned > 0) ctx.log.debug({ pruned: stats.pruned }, 'ended mails pruned');
  };
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let woken = false;
  const inFlight = new Set<Promise<void>>();
  let unsubscribe: (() => void) | undefined;

  const recoverExpiredClaims = async (): Promise<void> => {
    const now = ctx.now();
    for (const row of await findExpiredClaims(db, now - leaseMs, batchSize)) {
      const note = 'The sender stopped while this mail was claimed; its outcome is unknown, so it is sent again with the same Message-ID.';
      if (await requeueExpiredClaim(db, row, sealMailError(ctx, row.id, note), now)) {
        stats.recovered += 1;
        ctx.log.warn({ mailId: row.id, kind: row.kind, claimedBy: row.claimed_by }, 'mail claim expired; queued again');
      }
    }
  };

  const renderers = options.renderers ?? {};
  const renderableKinds = Object.keys(renderers) as MailKind[];

  /** Slots that are free at once claim their mails in one statement. */
  const claim = createBatcher(async (ids: string[]): Promise<Array<{ mail: MailRow; claim: Claim } | undefined>> => {
    const claimedAt = ctx.now();
    const rows = new Map((await claimMails(db, ids, ctx.nodeId, claimedAt)).map((row) => [row.id, row]));
    return ids.map((id) => {
      const mail = rows.get(id);
      return mail && { mail, claim: { id, nodeId: ctx.nodeId, claimedAt } };
    });
  });

  /** Mails claimed together are rendered together (one read of their accounts, one write of their links). */
  const render = createBatcher(async (items: Array<{ mail: MailRow; batch: Map<string, unknown> }>): Promise<Array<RenderedDelivery | Error>> => {
    const results: Array<RenderedDelivery | Error> = new Array(items.length);
    const groups = new Map<string, number[]>();
    items.forEach((item, index) => groups.set(item.mail.kind, [...(groups.get(item.mail.kind) ?? []), index]));
    for (const [kind, indexes] of groups) {
      const renderer = renderers[kind as MailKind];
      const mails = indexes.map((i) => items[i]!.mail);
      let rendered: Array<RenderedDelivery | Error>;
      if (!renderer) rendered = mails.map(() => new MailNotRenderable(`No renderer for a ${kind} mail queued without content.`));
      else {
        try {
          rendered = await renderer(ctx, mails, items[indexes[0]!]!.batch);
        } catch (error) {
          rendered = mails.map(() => (error instanceof Error ? error : new Error(String(error))));
        }
      }
      indexes.forEach((index, i) => (results[index] = rendered[i] ?? new Error('The renderer gave no answer for this mail.')));
    }
    return results;
  });

  /** Outcomes that arrive together commit together. */
  const finish = createBatcher((outcomes: ClaimOutcome[]) => finishClaims(db, ctx.database.engine, outcomes));

  /** The mail's address and bodies: stored (sealed) at queue time, or rendered now. */
  const compose = async (mail: MailRow, batch: Map<string, unknown>): Promise<Composed> => {
    if (mail.content !== null) {
      const opened = openMail(ctx, mail);
      return { to: opened.to, subject: opened.content.subject, text: opened.content.text ?? '', html: opened.content.html ?? '', renderedNow: false };
    }
    const delivery = await render({ mail, batch });
    if (delivery instanceof Error) throw delivery;
    return { to: delivery.to, ...delivery.rendered, renderedNow: true };
  };

  /**
   * Claims, renders and sends one mail. Its outcome is committed afterwards, while the slot goes on to its
   * next mail: `settle` receives that commit (the pass waits for every one before it returns).
   */
  const deliver = async (id: string, batch: Map<string, unknown>, settle: (outcome: Promise<void>) => void): Promise<void> => {
    const claimed = await claim(id);
    if (!claimed) return; // another node (or loop) took it
    const { mail } = claimed;
    await options.hooks?.afterClaim?.(mail);
    if (mail.expires_at !== null && mail.expires_at <= ctx.now()) {
      await finish({ claim: claimed.claim, status: 'failed', lastError: sealMailError(ctx, id, 'Not delivered before its link expired; nothing was sent.'), now: ctx.now() });
      stats.failed += 1;
      ctx.log.warn({ mailId: id, kind: mail.kind, attempts: mail.attempts }, 'mail expired before delivery');
      return;
    }
    let failure: ReturnType<typeof describeSendFailure> | undefined;
    let message: Composed | undefined;
    try {
      message = await compose(mail, batch);
    } catch (error) {
      // A mail that can never be rendered fails at once; anything else (the database) is tried again later.
      failure = error instanceof MailNotRenderable ? { permanent: true, reason: error.message, code: 'not-renderable' } : { permanent: false, reason: 'The mail could not be rendered; it will be tried again.', code: 'render' };
      if (!(error instanceof MailNotRenderable)) ctx.log.error({ err: error, mailId: id, kind: mail.kind }, 'rendering a mail failed');
    }
    if (message) {
      try {
        await options.transport.send({ from: ctx.config.mailFrom, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: messageIdOf(ctx, id) });
      } catch (error) {
        failure = describeSendFailure(error);
      }
    }
    // A mail rendered now keeps, like any other, its address (sealed) for the record.
    const recipient = message?.renderedNow ? sealMailRecipient(ctx, id, message.to) : undefined;
    const sent = message !== undefined && failure === undefined;
    const subject = message?.subject ?? '';
    const reason = failure;
    settle(
      (async () => {
        if (sent) {
          await options.hooks?.afterAccepted?.(mail);
          // The bodies (a reset link) are not kept once delivered; the subject stays for the record.
          const kept = await finish({ claim: claimed.claim, status: 'sent', content: sealMailContent(ctx, id, { subject }), recipient, now: ctx.now() });
          stats.sent += 1;
          if (kept) ctx.log.info({ mailId: id, kind: mail.kind, attempts: mail.attempts }, 'mail sent');
          else ctx.log.warn({ mailId: id, kind: mail.kind }, 'mail sent after its claim expired; another node may send it again');
          return;
        }
        if (!reason) return;
        const now = ctx.now();
        if (reason.permanent || mail.attempts >= maxAttempts) {
          await finish({ claim: claimed.claim, status: 'failed', lastError: sealMailError(ctx, id, reason.reason), recipient, now });
          stats.failed += 1;
          ctx.log.warn({ mailId: id, kind: mail.kind, attempts: mail.attempts, code: reason.code, permanent: reason.permanent }, 'mail failed');
        } else {
          const nextAttemptAt = now + retryDelayMs(mail.attempts, retryBaseMs, retryMaxMs);
          await finish({ claim: claimed.claim, status: 'queued', nextAttemptAt, lastError: sealMailError(ctx, id, reason.reason), recipient, now });
          stats.retried += 1;
          ctx.log.warn({ mailId: id, kind: mail.kind, attempts: mail.attempts, code: reason.code, retryInMs: nextAttemptAt - now }, 'mail not accepted; will retry');
        }
      })(),
    );
  };

  const track = (work: Promise<void>): Promise<void> => {
    const tracked = work.catch((error: unknown) => ctx.log.error({ err: error }, 'mail delivery failed')).finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    return tracked;
  };

  const runOnce = async (): Promise<number> => {
    await recoverExpiredClaims();
    await pruneEndedIfDue();
    const ids = await findDueMailIds(db, ctx.now(), batchSize, renderableKinds);
    const batch = new Map<string, unknown>();
    const outcomes: Array<Promise<void>> = [];
    const settle = (outcome: Promise<void>): void => {
      outcomes.push(track(outcome));
    };
    let next = 0;
    const slot = async (): Promise<void> => {
      while (next < ids.length && (running || loop === undefined)) {
        const id = ids[next++] as string;
        await track(deliver(id, batch, settle));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, slot));
    // Every outcome of this pass is committed before it returns (what runOnce's callers rely on).
    await Promise.all(outcomes);
    return ids.length;
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (woken) {
        woken = false;
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const run = async (): Promise<void> => {
    while (running) {
      let handled = 0;
      try {
        handled = await runOnce();
      } catch (error) {
        ctx.log.error({ err: error }, 'reading the mail outbox failed');
      }
      if (running && handled < batchSize) await sleep(pollMs);
    }
  };

  return {
    stats,
    concurrency,
    runOnce,
    start() {
      if (running) return;
      running = true;
      unsubscribe = onMailQueued(() => {
        if (wake) wake();
        else woken = true;
      });
      loop = run();
    },
    async stop(graceMs = 15_000) {
      running = false;
      unsubscribe?.();
      wake?.();
      const settled = Promise.all([loop, ...inFlight]).then(() => undefined);
      await Promise.race([settled, new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref())]);
      options.transport.close();
    },
  };
};


/** The worker `conclave serve` runs when SMTP_URL is set; undefined (mail waits in the outbox) when not. */
export const createConfiguredMailWorker = (ctx: AppContext, options: Omit<MailWorkerOptions, 'transport'> = {}): MailWorker | undefined => {
  if (!ctx.config.smtpUrl) return undefined;
  const concurrency = options.concurrency ?? ctx.config.mailConcurrency;
  return createMailWorker(ctx, { retentionMs: ctx.config.mailRetentionMs, ...options, concurrency, transport: createSmtpTransport(ctx.config.smtpUrl, { maxConnections: concurrency }) });
};
