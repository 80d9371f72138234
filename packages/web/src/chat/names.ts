import type { MyRoom } from '@conclave/protocol';
import type { MemberInfo } from './chat-store.ts';

export const displayName = (members: Record<string, MemberInfo> | undefined, accountId: string): string => members?.[accountId]?.displayName ?? 'Someone';

/** The other person of a direct chat (or this person, in a chat with themselves). */
export const directPartner = (room: MyRoom, me: string): string | undefined => room.directAccountIds?.find((id) => id !== me) ?? room.directAccountIds?.[0];

/** What a room is called on screen: its name, or for a direct chat the other person's name. */
export const roomLabel = (room: MyRoom, me: string, members: Record<string, MemberInfo> | undefined): string => {
  if (room.kind === 'room') return room.name;
  const partner = directPartner(room, me);
  return partner ? displayName(members, partner) : 'Direct chat';
};

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const formatTime = (iso: string): string => time.format(new Date(iso));
export const formatDay = (iso: string): string => day.format(new Date(iso));
export const formatFull = (iso: string): string => full.format(new Date(iso));
export const dayKey = (iso: string): string => new Date(iso).toDateString();
