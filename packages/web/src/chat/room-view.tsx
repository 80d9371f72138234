import { LIMITS, type MyRoom } from '@conclave/protocol';
import { Fragment, useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { describeError } from '../api.ts';
import { Link, pathTo } from '../router.tsx';
import { useChat, useChatStore } from './chat-context.tsx';
import type { MemberInfo } from './chat-store.ts';
import { MessageItem } from './message-item.tsx';
import { dayKey, displayName, formatDay, roomLabel } from './names.ts';
import { RoomHeader } from './room-header.tsx';

const EMPTY_TYPING: Record<string, number> = {};
/** How near the bottom (px) still counts as reading the newest messages. */
const STICK_PX = 80;

interface RoomViewProps {
  room: MyRoom;
  me: string;
  instanceRole: MemberInfo['role'] | undefined;
  /** A message to bring into view (from search). */
  focusMessageId: string | null;
}

export const RoomView = ({ room, me, instanceRole, focusMessageId }: RoomViewProps) => {
  const store = useChatStore();
  const page = useChat((data) => data.state?.messages[room.id]);
  const members = useChat((data) => data.members[room.instanceId]);
  const typing = useChat((data) => data.typing[room.id] ?? EMPTY_TYPING);
  const loadingOlder = useChat((data) => data.loadingOlder[room.id] ?? false);
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const previous = useRef<{ first: string | undefined; height: number } | null>(null);
  const [olderError, setOlderError] = useState<string | null>(null);
  const messages = page?.messages;
  const hasMore = page?.hasMore ?? false;
  const canModerate = room.role === 'owner' || instanceRole === 'admin' || instanceRole === 'owner';
  const canPost = !room.archived;
  const label = roomLabel(room, me, members);

  useEffect(() => {
    document.title = `${label} · Conclave`;
  }, [label]);

  // A room joined since the snapshot holds no messages yet: load its newest page.
  useEffect(() => {
    if (page && page.messages.length === 0 && page.hasMore) void store.loadLatest(room.id).catch(() => undefined);
  }, [store, room.id, page]);

  // Opening a room starts at its newest message.
  useLayoutEffect(() => {
    stick.current = true;
    previous.current = null;
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [room.id]);

  // New messages at the bottom keep the view at the bottom if it was there; older ones loaded above keep
  // what was on screen where it was.
  useLayoutEffect(() => {
    const element = list.current;
    if (!element) return;
    const first = messages?.[0]?.id;
    const before = previous.current;
    if (before && before.first !== first && before.first !== undefined && !stick.current) {
      element.scrollTop += element.scrollHeight - before.height;
    } else if (stick.current) {
      element.scrollTop = element.scrollHeight;
    }
    previous.current = { first, height: element.scrollHeight };
  }, [messages]);

  // Reading the newest messages moves the read marker.
  useEffect(() => {
    if (stick.current && document.visibilityState === 'visible') store.markRead(room.id);
  }, [store, room.id, messages]);

  // Coming back to the tab counts as reading what arrived meanwhile, if the view is at the newest.
  useEffect(() => {
    const visible = () => {
      if (document.visibilityState === 'visible' && stick.current) store.markRead(room.id);
    };
    document.addEventListener('visibilitychange', visible);
    return () => document.removeEventListener('visibilitychange', visible);
  }, [store, room.id]);

  useEffect(() => {
    if (!focusMessageId) return;
    const element = document.getElementById(`message-${focusMessageId}`);
    if (element) {
      stick.current = false;
      element.scrollIntoView({ block: 'center' });
    }
  }, [focusMessageId, messages]);

  const loadOlder = () => {
    setOlderError(null);
    store.loadOlder(room.id).catch((caught: unknown) => setOlderError(describeError(caught)));
  };

  const onScroll = () => {
    const element = list.current;
    if (!element) return;
    stick.current = element.scrollHeight - element.scrollTop - element.clientHeight < STICK_PX;
    if (stick.current) store.markRead(room.id);
    if (element.scrollTop < 200 && hasMore && !loadingOlder && !olderError) loadOlder();
  };

  // A short room does not scroll, so loading older history cannot wait for a scroll.
  useEffect(() => {
    const element = list.current;
    if (element && hasMore && !loadingOlder && !olderError && (messages?.length ?? 0) > 0 && element.scrollHeight <= element.clientHeight) loadOlder();
  }, [messages, hasMore, loadingOlder, olderError]);

  const typists = Object.keys(typing).map((id) => displayName(members, id));

  return (
    <section className="room" aria-label={room.kind === 'direct' ? `Direct chat with ${label}` : `Room ${label}`}>
      <RoomHeader room={room} me={me} label={label} canManage={canModerate} members={members} />
      <div className="message-scroller" ref={list} onScroll={onScroll} tabIndex={0} aria-label="Message history">
        {hasMore ? (
          <div className="history-edge">
            {olderError ? (
              <p role="alert">
                {olderError}{' '}
                <button type="button" className="small" onClick={loadOlder}>
                  Try again
                </button>
              </p>
            ) : (
              <button type="button" className="small ghost" onClick={loadOlder} disabled={loadingOlder}>
                {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
              </button>
            )}
          </div>
        ) : messages ? (
          <p className="history-edge hint">{room.kind === 'direct' ? `The beginning of your chat with ${label}.` : `The beginning of ${label}.`}</p>
        ) : null}
        {messages ? (
          <ol className="messages" role="log" aria-label={`Messages in ${label}`}>
            {messages.map((message, i) => {
              const newDay = i === 0 || dayKey(messages[i - 1]?.createdAt ?? '') !== dayKey(message.createdAt);
              return (
                <Fragment key={message.id}>
                  {newDay ? (
                    <li className="day-divider" role="separator">
                      {formatDay(message.createdAt)}
                    </li>
                  ) : null}
                  <MessageItem message={message} me={me} members={members} canModerate={canModerate} canPost={canPost} highlighted={message.id === focusMessageId} />
                </Fragment>
              );
            })}
          </ol>
        ) : (
          <p className="hint">Loading…</p>
        )}
      </div>
      <p className="typing" aria-live="polite">
        {typists.length === 1 ? `${typists[0]} is typing…` : typists.length > 1 ? `${typists.join(', ')} are typing…` : ''}
      </p>
      {canPost ? (
        <Composer room={room} label={label} onSent={() => (stick.current = true)} />
      ) : (
        <p className="archived-note">
          This room is archived: its history stays readable, and nothing new can be posted.{' '}
          {canModerate ? 'Unarchive it from the room menu to post again.' : <Link to={pathTo('instance', { instanceId: room.instanceId })}>Back to the rooms</Link>}
        </p>
      )}
    </section>
  );
};

const Composer = ({ room, label, onSent }: { room: MyRoom; label: string; onSent(): void }) => {
  const store = useChatStore();
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);
  const draft = drafts[room.id] ?? '';

  useEffect(() => {
    setError(null);
    input.current?.focus();
  }, [room.id]);

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    const body = draft.replace(/^\s*\n|\s+$/g, '');
    if (!body.trim() || sending) return;
    setSending(true);
    setError(null);
    try {
      onSent();
      await store.post(room.id, body);
      setDrafts((d) => ({ ...d, [room.id]: '' }));
    } catch (caught) {
      // The text stays in the box: nothing typed is lost when a send fails.
      setError(`Not sent: ${describeError(caught)}`);
    } finally {
      setSending(false);
      input.current?.focus();
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
  };

  return (
    <form className="composer" onSubmit={send}>
      <label htmlFor="composer" className="visually-hidden">
        Message {room.kind === 'direct' ? label : `#${label}`}
      </label>
      <textarea
        id="composer"
        ref={input}
        value={draft}
        rows={1}
        maxLength={LIMITS.messageMaxLength}
        placeholder={`Message ${room.kind === 'direct' ? label : `#${label}`}`}
        aria-describedby="composer-help"
        onChange={(event) => {
          setDrafts((d) => ({ ...d, [room.id]: event.target.value }));
          if (event.target.value) store.typing(room.id);
        }}
        onKeyDown={onKeyDown}
      />
      <button type="submit" className="primary" disabled={sending || !draft.trim()}>
        Send
      </button>
      <label className="button small attach">
        Attach
        <input
          type="file"
          className="visually-hidden"
          disabled={sending}
          onChange={(event) => {
            const file = event.target.files?.[0];
            event.target.value = '';
            if (!file) return;
            setSending(true);
            setError(null);
            onSent();
            store
              .upload(room.id, file)
              .catch((caught: unknown) => setError(`Not sent: ${describeError(caught)}`))
              .finally(() => setSending(false));
          }}
        />
      </label>
      <p id="composer-help" className="hint composer-help">
        Enter sends, Shift+Enter starts a new line. @name mentions someone.
      </p>
      {error ? (
        <p className="field-error composer-error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
};
