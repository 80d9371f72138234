import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { newId } from '../crypto/index.ts';
import type { MailKind, MailStatus, Schema } from '../db/index.ts';
import type { RenderedMail } from './mail.templates.ts';
import { findMailById, insertMail, listMails, type MailRow } from './outbox.queries.ts';

/** A mail to queue: who it is for, why (the idempotency key names the cause), and what it says. */
export interface OutgoingMail {
  kind: MailKind;
  accountId: string | null;
  to: string;
  /** One cause, one mail: `password-reset:<reset id>`, `password-changed:<account id>:<epoch>`… */
  idempotencyKey: string;
  /** A mail not delivered by then (its link expired) is marked failed instead of sent. */
  expiresAt?: number | undefined;
  rendered: RenderedMail;
}

/** What the content column holds once opened: the bodies are gone after delivery. */
export interface MailContent {
  subject: string;
  text?: string;
  html?: string;
}

const FIELD = { recipient: 'mail_outbox.recipient', content: 'mail_outbox.content', lastError: 'mail_outbox.last_error' } as const;

/**
 * A mail row ready to insert, sealed under the server's data key and bound to its id. Call it before the
 * transaction opens (sealing may load keys), then insert the row with queueMail inside it.
 */
export const prepareMail = (ctx: AppContext, mail: OutgoingMail, now: number = ctx.now()): MailRow => {
  const id = newId(now);
  const content: MailContent = { subject: mail.rendered.subject, text: mail.rendered.text, html: mail.rendered.html };
  return {
    id,
    idempotency_key: mail.idempotencyKey,
    kind: mail.kind,
    account_id: mail.accountId,
    recipient: ctx.keyring.server.seal(FIELD.recipient, id, mail.to),
    content: ctx.keyring.server.seal(FIELD.content, id, JSON.stringify(content)),
    status: 'queued',
    attempts: 0,
    next_attempt_at: now,
    expires_at: mail.expiresAt ?? null,
    claimed_by: null,
    claimed_at: null,
    last_error: null,
    created_at: now,
    updated_at: now,
    sent_at: null,
    mailing_id: null,
  };
};

/** Inserts a prepared mail in the caller's transaction; false when its cause already has a mail. */
export const queueMail = (db: Kysely<Schema>, row: MailRow): Promise<boolean> => insertMail(db, row);

const queued = new EventEmitter();
queued.setMaxListeners(100);

/** After a commit that queued mail: this process's worker looks at once instead of at its next poll. */
export const notifyMailQueued = (): void => {
  queued.emit('queued');
};

export const onMailQueued = (listener: () => void): (() => void) => {
  queued.on('queued', listener);
  return () => queued.off('queued', listener);
};

/** The recipient and last error of a row read by another query (an incident mailing's listing). */
export const openMailRecipient = (ctx: AppContext, id: string, sealed: string): string => ctx.keyring.server.open(FIELD.recipient, id, sealed);
export const openMailError = (ctx: AppContext, id: string, sealed: string): string => ctx.keyring.server.open(FIELD.lastError, id, sealed);
export const sealMailRecipient = (ctx: AppContext, id: string, to: string): string => ctx.keyring.server.seal(FIELD.recipient, id, to);
export const sealMailContent = (ctx: AppContext, id: string, content: MailContent): string => ctx.keyring.server.seal(FIELD.content, id, JSON.stringify(content));
export const sealMailError = (ctx: AppContext, id: string, error: string): string => ctx.keyring.server.seal(FIELD.lastError, id, error.slice(0, 1000));

export interface OpenedMail {
  id: string;
  kind: MailKind;
  accountId: string | null;
  to: string;
  content: MailContent;
  status: MailStatus;
  attempts: number;
  lastError: string | null;
  idempotencyKey: string;
  createdAt: number;
  nextAttemptAt: number;
  expiresAt: number | null;
  sentAt: number | null;
}

export const openMail = (ctx: AppContext, row: MailRow): OpenedMail => ({
  id: row.id,
  kind: row.kind,
  accountId: row.account_id,
  // A mailing's mail is addressed and rendered when it is sent.
  to: row.recipient === null ? '' : ctx.keyring.server.open(FIELD.recipient, row.id, row.recipient),
  content: row.content === null ? { subject: '' } : (JSON.parse(ctx.keyring.server.open(FIELD.content, row.id, row.content)) as MailContent),
  status: row.status,
  attempts: row.attempts,
  lastError: row.last_error === null ? null : ctx.keyring.server.open(FIELD.lastError, row.id, row.last_error),
  idempotencyKey: row.idempotency_key,
  createdAt: row.created_at,
  nextAttemptAt: row.next_attempt_at,
  expiresAt: row.expires_at,
  sentAt: row.sent_at,
});

/** The outbox, newest first, opened (the operator's `conclave mail list`). */
export const listOutbox = async (ctx: AppContext, filter: { status?: MailStatus | undefined; limit: number }): Promise<OpenedMail[]> =>
  (await listMails(ctx.database.db, filter)).map((row) => openMail(ctx, row));

export const findOutboxMail = async (ctx: AppContext, id: string): Promise<OpenedMail | undefined> => {
  const row = await findMailById(ctx.database.db, id);
  return row && openMail(ctx, row);
};

/** The Message-ID of a mail: the same on every attempt, so a copy sent twice after a crash is recognizable. */
export const messageIdOf = (ctx: AppContext, mailId: string): string => `<${mailId}@${ctx.config.publicUrl.hostname || 'conclave.invalid'}>`;
