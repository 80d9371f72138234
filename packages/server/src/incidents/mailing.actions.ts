import type { AppContext } from '../context.ts';
import { findIncidentById } from './incident.queries.ts';
import type { MailStatus } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { openEmail } from '../identity/index.ts';
import { openMailError, openMailRecipient } from '../mail/index.ts';
import { openMailingMessage } from './incident.seal.ts';
import { countMailsOfMailings, countSentPerBucket, listMailingMails, listMailingRows, type MailingRow } from './mailing.queries.ts';
import { findMailing, type MailingTarget } from './notice.actions.ts';
import type { NoticeTemplate } from './notice.templates.ts';

export interface MailingStatus {
  id: string;
  incidentId: string;
  scopeId: string | null;
  target: MailingTarget;
  template: NoticeTemplate;
  /** A follow-up's subject (the operator's); null for the standard templates. */
  subject: string | null;
  /** queuing: the walk is not finished (resume it); queued: every mail is in the outbox. */
  status: MailingRow['status'];
  ratePerSecond: number;
  queued: number;
  /** The mails of the mailing by delivery status (one mail per person: the per-recipient status). */
  mails: Record<MailStatus, number>;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
}

const MAIL_STATUSES: readonly MailStatus[] = ['queued', 'sending', 'sent', 'failed'];

const assertIncident = async (ctx: AppContext, incidentId: string): Promise<void> => {
  if (typeof incidentId !== 'string' || !(await findIncidentById(ctx.database.db, incidentId))) throw new AppError('INCIDENT_NOT_FOUND');
};

/** Every mailing of an incident, oldest first, with its mails counted by status. */
export const mailingStatus = async (ctx: AppContext, incidentId: string): Promise<MailingStatus[]> => {
  await assertIncident(ctx, incidentId);
  const mailings = await listMailingRows(ctx.database.db, incidentId);
  const counts = await countMailsOfMailings(
    ctx.database.db,
    mailings.map((m) => m.id),
  );
  return mailings.map((m) => ({
    id: m.id,
    incidentId: m.incident_id,
    scopeId: m.scope_id,
    target: m.target,
    template: m.template,
    subject: m.message === null ? null : openMailingMessage(ctx.keyring, m.id, m.message).subject,
    status: m.status,
    ratePerSecond: m.rate_per_second,
    queued: Number(m.queued),
    mails: counts.get(m.id) ?? { queued: 0, sending: 0, sent: 0, failed: 0 },
    createdBy: m.created_by,
    createdAt: Number(m.created_at),
    updatedAt: Number(m.updated_at),
  }));
};

export interface MailingRecipient {
  mailId: string;
  accountId: string | null;
  /** Where it went (sent or failed after rendering), else the account's address now; null: the account is gone. */
  email: string | null;
  status: MailStatus;
  attempts: number;
  nextAttemptAt: number;
  sentAt: number | null;
  /** The SMTP server's refusal, or why it was never sent (the account is gone). */
  lastError: string | null;
}

export interface RecipientPage {
  recipients: MailingRecipient[];
  /** Pass as `after` for the next page; null at the end. */
  next: string | null;
}

/** One page of a mailing's recipients, in the order they were queued, with each one's delivery status. */
export const listMailingRecipients = async (
  ctx: AppContext,
  mailingId: string,
  filter: { status?: MailStatus | undefined; limit: number; after?: string | undefined },
): Promise<RecipientPage> => {
  const details = [];
  if (filter.status !== undefined && !MAIL_STATUSES.includes(filter.status)) details.push({ path: 'status', problem: `must be one of ${MAIL_STATUSES.join(', ')}` });
  if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > 1000) details.push({ path: 'limit', problem: 'must be a whole number from 1 to 1000' });
  if (filter.after !== undefined && typeof filter.after !== 'string') details.push({ path: 'after', problem: 'must be a mail id' });
  if (details.length > 0) throw new AppError('VALIDATION_FAILED', { details });
  const mailing = await findMailing(ctx, mailingId);
  const rows = await listMailingMails(ctx.database.db, mailing.id, filter);
  const recipients = rows.map((row): MailingRecipient => {
    const email =
      row.recipient !== null
        ? openMailRecipient(ctx, row.id, row.recipient)
        : row.account_email !== null && row.account_id !== null
          ? openEmail(ctx.keyring, row.account_id, row.account_email)
          : null;
    return {
      mailId: row.id,
      accountId: row.account_id,
      email,
      status: row.status,
      attempts: row.attempts,
      nextAttemptAt: Number(row.next_attempt_at),
      sentAt: row.sent_at === null ? null : Number(row.sent_at),
      lastError: row.last_error === null ? null : openMailError(ctx, row.id, row.last_error),
    };
  });
  return { recipients, next: rows.length === filter.limit ? (rows[rows.length - 1]?.id ?? null) : null };
};

/**
 * Notices of an incident delivered over time, cumulative: each point is the end of a bucket and every mail
 * of the incident's mailings sent before it (the progress view's curve).
 */
export const noticesDeliveredOverTime = async (ctx: AppContext, incidentId: string, bucketMs: number): Promise<Array<{ at: number; delivered: number }>> => {
  if (!Number.isInteger(bucketMs) || bucketMs < 100 || bucketMs > 86_400_000) {
    throw new AppError('VALIDATION_FAILED', { details: [{ path: 'bucketMs', problem: 'must be a whole number of milliseconds from 100 to 86400000' }] });
  }
  await assertIncident(ctx, incidentId);
  const mailings = await listMailingRows(ctx.database.db, incidentId);
  const buckets = await countSentPerBucket(
    ctx.database.db,
    mailings.map((m) => m.id),
    bucketMs,
  );
  let delivered = 0;
  return buckets.map((b) => {
    delivered += b.count;
    return { at: b.at + bucketMs, delivered };
  });
};
