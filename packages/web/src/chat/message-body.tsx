import { MENTION_PATTERN, ROOM_MENTIONS, mentionKey } from '@conclave/protocol';
import type { ReactNode } from 'react';
import type { MemberInfo } from './chat-store.ts';

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'"]/gu;

const withLinks = (text: string, key: string): ReactNode[] => {
  const parts: ReactNode[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index;
    if (start > last) parts.push(text.slice(last, start));
    parts.push(
      <a key={`${key}-${start}`} href={match[0]} target="_blank" rel="noopener noreferrer nofollow">
        {match[0]}
      </a>,
    );
    last = start + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
};

/**
 * A message's text as written (React escapes it; nothing is parsed as HTML), with links and @mentions
 * marked: a mention of this person stands out more than one of someone else.
 */
export const MessageBody = ({ body, members, me }: { body: string; members: Record<string, MemberInfo> | undefined; me: string }) => {
  const keys = new Map<string, string>();
  for (const member of Object.values(members ?? {})) keys.set(mentionKey(member.displayName), member.accountId);
  const parts: ReactNode[] = [];
  let last = 0;
  for (const match of body.matchAll(MENTION_PATTERN)) {
    const token = (match[2] ?? '').toLowerCase();
    const accountId = keys.get(token);
    const isRoom = (ROOM_MENTIONS as readonly string[]).includes(token);
    if (!accountId && !isRoom) continue;
    const start = match.index + (match[1] ?? '').length;
    if (start > last) parts.push(...withLinks(body.slice(last, start), `t${last}`));
    const text = body.slice(start, start + 1 + (match[2] ?? '').length);
    parts.push(
      <mark key={`m${start}`} className={accountId === me || isRoom ? 'mention mention-me' : 'mention'}>
        {text}
      </mark>,
    );
    last = start + text.length;
  }
  if (last < body.length) parts.push(...withLinks(body.slice(last), `t${last}`));
  return <div className="message-body">{parts}</div>;
};
