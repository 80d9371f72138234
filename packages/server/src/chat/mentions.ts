import { MENTION_PATTERN, mentionKey, type Mentions } from '@conclave/protocol';

export { mentionKey };

/** The @tokens in a message body, lower case. */
export const findMentionTokens = (body: string): string[] => [...body.matchAll(MENTION_PATTERN)].map((match) => (match[2] ?? '').toLowerCase());

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
