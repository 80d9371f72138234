import type { Mentions } from '@conclave/protocol';

const MENTION = /(^|[^\p{L}\p{N}_.@-])@([\p{L}\p{N}._-]{1,64})/gu;

/** How a person is @-mentioned: their display name, lower case, without spaces ("Ada Lovelace" → "adalovelace"). */
export const mentionKey = (displayName: string): string => displayName.normalize('NFKC').toLowerCase().replace(/\s+/gu, '');

/** The @tokens in a message body, lower case. */
export const findMentionTokens = (body: string): string[] => [...body.matchAll(MENTION)].map((match) => (match[2] ?? '').toLowerCase());

/**
 * Resolves @name, @here (members online now) and @all (every member) against the room's members; the author
 * is never notified of their own message.
 */
export const resolveMentions = (
  body: string,
  authorId: string,
  members: Array<{ account_id: string; display_name: string }>,
  isOnline: (accountId: string) => boolean,
): Mentions => {
  const tokens = new Set(findMentionTokens(body));
  const all = tokens.has('all') || tokens.has('channel') || tokens.has('everyone');
  const here = tokens.has('here');
  const ids = new Set<string>();
  for (const member of members) {
    if (member.account_id === authorId) continue;
    if (all || (here && isOnline(member.account_id)) || tokens.has(mentionKey(member.display_name))) ids.add(member.account_id);
  }
  return { accountIds: [...ids].sort(), here, all };
};
