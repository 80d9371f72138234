import type { AppContext } from '../context.ts';
import type { MailKind } from '../db/index.ts';
import type { RenderedMail } from './mail.templates.ts';
import { createSmtpTransport, describeSendFailure, type MailTransport } from './mail.transport.ts';
import { messageIdOf, onMailQueued, openMail, sealMailContent, sealMailError, sealMailRecipient } from './outbox.actions.ts';
import { claimMail, findDueMailIds, findExpiredClaims, markMailFailed, markMailRetry, markMailSent, requeueExpiredClaim, type MailRow } from './outbox.queries.ts';

/** A mail rendered just before it is sent: its address and what it says. */
export interface RenderedDelivery {
  to: string;
  rendered: RenderedMail;
}

/**
 * Renders a claimed mail that was queued without content (an incident mailing's: the address is read and a
 * reset link made at that moment). `batch` lives for one pass over the outbox: what many mails share (the
 * mailing, the incident) is opened once per pass. Throw MailNotRenderable when it can never be sent.
 */
export type MailRenderer = (ctx: AppContext, mail: MailRow, batch: Map<string, unknown>) => Promise<RenderedDelivery>;
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
  /** Mails in flight at once (and SMTP connections in the pool). */
  concurrency?: number;
  /** How often the outbox is read when nothing woke the worker (other nodes' mail, retries). */
  pollMs?: number;
  /** A claim older than this is taken to belong to a node that stopped: the mail goes again. */
  leaseMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  maxAttempts?: number;
  /** Due mails read per pass (each is still claimed one at a time, just before it is sent). */
  batchSize?: number;
  /** Renderers for mails queued without content, by kind; a worker without one for a kind leaves those mails queued. */
  renderers?: MailRenderers;
  /** Tests only (no configuration reaches them): pause after claiming or after the SMTP server accepted. */
  hooks?: { afterClaim?(mail: MailRow): Promise<void>; afterAccepted?(mail: MailRow): Promise<void> };
}

export interface MailWorker {
  start(): void;
  /** Claims nothing more, lets the mails in flight finish (at most `graceMs`), and closes the transport. */
  stop(graceMs?: number): Promise<void>;
  /** Delivers every mail due now, then returns (tests, and the worker's own loop). */
  runOnce(): Promise<number>;
  readonly stats: { sent: number; retried: number; failed: number; recovered: number };
}

/** Exponential backoff with jitter: base · 2^(attempt-1), capped, ±20%. */
export const retryDelayMs = (attempt: number, baseMs: number, maxMs: number): number => {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + Math.random() * 0.4));
};

/**
 * Delivers the outbox over SMTP. Each mail is claimed by a conditional update just before it is sent (so a
 * claim means "possibly handed to the SMTP server"), marked sent right after the server's 250, retried with
 * backoff on temporary failures, failed with the reason on permanent ones or when its link expired. A mail
 * left in `sending` by a node that died is sent again once its lease expires, with the same Message-ID:
 * at-least-once, the duplicate window being the instant between the 250 and the commit (decision 0014).
 */
export const createMailWorker = (ctx: AppContext, options: MailWorkerOptions): MailWorker => {
  const concurrency = options.concurrency ?? 5;
  const pollMs = options.pollMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 120_000;
  const retryBaseMs = options.retryBaseMs ?? 15_000;
  const retryMaxMs = options.retryMaxMs ?? 3_600_000;
  const maxAttempts = options.maxAttempts ?? 8;
  const batchSize = options.batchSize ?? 100;
  const db = ctx.database.db;
  const stats = { sent: 0, retried: 0, failed: 0, recovered: 0 };
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

  /** The mail's address and bodies: stored (sealed) at queue time, or rendered now. */
  const compose = async (mail: MailRow, batch: Map<string, unknown>): Promise<{ to: string; subject: string; text: string; html: string; renderedNow: boolean }> => {
    if (mail.content !== null) {
      const opened = openMail(ctx, mail);
      return { to: opened.to, subject: opened.content.subject, text: opened.content.text ?? '', html: opened.content.html ?? '', renderedNow: false };
    }
    const renderer = renderers[mail.kind];
    if (!renderer) throw new MailNotRenderable(`No renderer for a ${mail.kind} mail queued without content.`);
    const delivery = await renderer(ctx, mail, batch);
    return { to: delivery.to, ...delivery.rendered, renderedNow: true };
  };

  const deliver = async (id: string, batch: Map<string, unknown>): Promise<void> => {
    const claimedAt = ctx.now();
    const mail = await claimMail(db, id, ctx.nodeId, claimedAt);
    if (!mail) return; // another node (or loop) took it
    const claim = { id, nodeId: ctx.nodeId, claimedAt };
    await options.hooks?.afterClaim?.(mail);
    if (mail.expires_at !== null && mail.expires_at <= ctx.now()) {
      await markMailFailed(db, claim, sealMailError(ctx, id, 'Not delivered before its link expired; nothing was sent.'), ctx.now());
      stats.failed += 1;
      ctx.log.warn({ mailId: id, kind: mail.kind, attempts: mail.attempts }, 'mail expired before delivery');
      return;
    }
    let failure: ReturnType<typeof describeSendFailure> | undefined;
    let message: Awaited<ReturnType<typeof compose>> | undefined;
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
    const extra = message?.renderedNow ? { recipient: sealMailRecipient(ctx, id, message.to) } : {};
    if (message && !failure) {
      await options.hooks?.afterAccepted?.(mail);
      // The bodies (a reset link) are not kept once delivered; the subject stays for the record.
      const kept = await markMailSent(db, claim, sealMailContent(ctx, id, { subject: message.subject }), ctx.now(), extra);
      stats.sent += 1;
      if (kept) ctx.log.info({ mailId: id, kind: mail.kind, attempts: mail.attempts }, 'mail sent');
      else ctx.log.warn({ mailId: id, kind: mail.kind }, 'mail sent after its claim expired; another node may send it again');
      return;
    }
    if (!failure) return;
    const now = ctx.now();
    if (failure.permanent || mail.attempts >= maxAttempts) {
      await markMailFailed(db, claim, sealMailError(ctx, id, failure.reason), now, extra);
      stats.failed += 1;
      ctx.log.warn({ mailId: id, kind: mail.kind, attempts: mail.attempts, code: failure.code, permanent: failure.permanent }, 'mail failed');
    } else {
      const nextAttemptAt = now + retryDelayMs(mail.attempts, retryBaseMs, retryMaxMs);
      await markMailRetry(db, claim, nextAttemptAt, sealMailError(ctx, id, failure.reason), now, extra);
      stats.retried += 1;
      ctx.log.warn({ mailId: id, kind: mail.kind, attempts: mail.attempts, code: failure.code, retryInMs: nextAttemptAt - now }, 'mail not accepted; will retry');
    }
  };

  const track = (work: Promise<void>): Promise<void> => {
    const tracked = work.catch((error: unknown) => ctx.log.error({ err: error }, 'mail delivery failed')).finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    return tracked;
  };

  const runOnce = async (): Promise<number> => {
    await recoverExpiredClaims();
    const ids = await findDueMailIds(db, ctx.now(), batchSize, renderableKinds);
    const batch = new Map<string, unknown>();
    let next = 0;
    const slot = async (): Promise<void> => {
      while (next < ids.length && (running || loop === undefined)) {
        const id = ids[next++] as string;
        await track(deliver(id, batch));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, slot));
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
  const concurrency = options.concurrency ?? 5;
  return createMailWorker(ctx, { ...options, concurrency, transport: createSmtpTransport(ctx.config.smtpUrl, { maxConnections: concurrency }) });
};
