import type { Attachment } from '@conclave/protocol';
import type { OwnerCipher } from '../crypto/index.ts';
import type { MessageRow } from './message.queries.ts';

/** A message body is sealed under its room's data key, bound to the message id. */
export const sealBody = (cipher: OwnerCipher, messageId: string, body: string): string => cipher.seal('messages.body', messageId, body);

/** An earlier version of a body (edit history), bound to the message and the moment it was replaced. */
export const sealEditedBody = (cipher: OwnerCipher, messageId: string, replacedAt: number, body: string): string =>
  cipher.seal('message_edits.body', `${messageId}@${replacedAt}`, body);

/** Who an integration posted as (decision 0020): sealed like the body, under the room's key. */
export const sealVia = (cipher: OwnerCipher, messageId: string, via: string | null): string | null => (via === null ? null : cipher.seal('messages.via', messageId, via));

/** Absent (a row read without the column, as a replayed older schema has none) or null: posted by a person. */
export const openVia = (cipher: OwnerCipher, row: Pick<MessageRow, 'id' | 'via'>): string | null => (typeof row.via === 'string' ? cipher.open('messages.via', row.id, row.via) : null);

/** The files a message carries (their ids, names, types and sizes), as sealed JSON bound to the message. */
export const sealAttachments = (cipher: OwnerCipher, messageId: string, attachments: Attachment[]): string | null =>
  attachments.length === 0 ? null : cipher.seal('messages.attachments', messageId, JSON.stringify(attachments));

export const openMessage = (cipher: OwnerCipher, row: MessageRow): MessageRow => ({
  ...row,
  body: cipher.open('messages.body', row.id, row.body),
  via: openVia(cipher, row),
  // Absent (a row read without the column) or null: no files.
  attachments: typeof row.attachments === 'string' ? cipher.open('messages.attachments', row.id, row.attachments) : null,
});
