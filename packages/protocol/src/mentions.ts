/** An @mention in a message body: `@` and a name token, not inside a word or an email address. */
export const MENTION_PATTERN = /(^|[^\p{L}\p{N}_.@-])@([\p{L}\p{N}._-]{1,64})/gu;

/** Tokens that mention a whole room rather than one person. */
export const ROOM_MENTIONS = ['all', 'channel', 'everyone', 'here'] as const;

/** How a person is @-mentioned: their display name, lower case, without spaces ("Ada Lovelace" → "adalovelace"). */
export const mentionKey = (displayName: string): string => displayName.normalize('NFKC').toLowerCase().replace(/\s+/gu, '');
