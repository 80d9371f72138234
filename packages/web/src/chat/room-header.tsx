import { LIMITS, type MyRoom } from '@conclave/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../api.ts';
import { Dialog } from '../components/dialog.tsx';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { Link, navigate, pathTo } from '../router.tsx';
import { useChat, useChatStore } from './chat-context.tsx';
import type { MemberInfo } from './chat-store.ts';
import { directPartner } from './names.ts';
import { PresenceDot } from './presence-dot.tsx';

type Open = null | 'topic' | 'add';

export const RoomHeader = ({ room, me, label, canManage, members }: { room: MyRoom; me: string; label: string; canManage: boolean; members: Record<string, MemberInfo> | undefined }) => {
  const store = useChatStore();
  const [open, setOpen] = useState<Open>(null);
  const [error, setError] = useState<string | null>(null);
  const partner = room.kind === 'direct' ? directPartner(room, me) : undefined;

  const act = (work: () => Promise<void>) => {
    setError(null);
    work().catch((caught: unknown) => setError(describeError(caught)));
  };

  return (
    <header className="room-header">
      <Link className="back-link" to={pathTo('instance', { instanceId: room.instanceId })}>
        <span aria-hidden="true">←</span> Rooms
      </Link>
      <div className="room-title">
        <h1>
          {partner ? <PresenceDot accountId={partner} /> : <span className="room-sigil" aria-hidden="true">#</span>}
          {label}
          {room.archived ? <span className="badge muted">archived</span> : null}
          {room.kind === 'room' && room.privacy === 'private' ? <span className="badge muted">private</span> : null}
        </h1>
        {room.kind === 'room' ? (
          <p className="topic">{room.topic || (canManage ? 'No topic yet.' : '')}</p>
        ) : null}
      </div>
      {room.kind === 'room' ? (
        <div className="room-actions" role="group" aria-label="Room actions">
          <span className="hint member-count">{room.memberCount === 1 ? '1 member' : `${room.memberCount} members`}</span>
          {canManage && !room.archived ? (
            <button type="button" className="small" onClick={() => setOpen('topic')}>
              Edit topic
            </button>
          ) : null}
          {!room.archived ? (
            <button type="button" className="small" onClick={() => setOpen('add')}>
              Add people
            </button>
          ) : null}
          {canManage ? (
            <button type="button" className="small" onClick={() => act(() => store.setArchived(room.id, !room.archived))}>
              {room.archived ? 'Unarchive' : 'Archive'}
            </button>
          ) : null}
          <button
            type="button"
            className="small danger"
            onClick={() => {
              if (!window.confirm(`Leave ${label}?${room.privacy === 'private' ? ' It is private: someone in it must add you back.' : ''}`)) return;
              act(async () => {
                await store.leave(room.id);
                navigate(pathTo('instance', { instanceId: room.instanceId }), { replace: true });
              });
            }}
          >
            Leave
          </button>
        </div>
      ) : null}
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
      {open === 'topic' ? <TopicDialog room={room} onClose={() => setOpen(null)} /> : null}
      {open === 'add' ? <AddPeopleDialog room={room} me={me} members={members} onClose={() => setOpen(null)} /> : null}
    </header>
  );
};

const TopicDialog = ({ room, onClose }: { room: MyRoom; onClose(): void }) => {
  const store = useChatStore();
  const [topic, setTopic] = useState(room.topic);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      await store.updateRoom(room.id, { topic: topic.trim() });
      onClose();
    } catch (caught) {
      setError(describeError(caught));
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Topic of ${room.name}`} onClose={onClose}>
      <form onSubmit={submit}>
        <FormMessage>{error}</FormMessage>
        <Field label="Topic" value={topic} onChange={setTopic} maxLength={LIMITS.roomTopicMaxLength} autoFocus hint="One line that tells people what this room is for." />
        <SubmitButton busy={busy}>Save the topic</SubmitButton>
      </form>
    </Dialog>
  );
};

const AddPeopleDialog = ({ room, me, members, onClose }: { room: MyRoom; me: string; members: Record<string, MemberInfo> | undefined; onClose(): void }) => {
  const store = useChatStore();
  const [filter, setFilter] = useState('');
  const [added, setAdded] = useState<Record<string, boolean>>({});
  const [error, setError] = useState<string | null>(null);
  const presence = useChat((data) => data.presence);
  const people = Object.values(members ?? {})
    .filter((m) => m.accountId !== me && m.displayName.toLowerCase().includes(filter.trim().toLowerCase()))
    .sort((a, b) => a.displayName.localeCompare(b.displayName));
  const add = (accountId: string) => {
    setError(null);
    store
      .addMember(room.id, accountId)
      .then(() => setAdded((a) => ({ ...a, [accountId]: true })))
      .catch((caught: unknown) => setError(describeError(caught)));
  };
  return (
    <Dialog title={`Add people to ${room.name}`} onClose={onClose}>
      <FormMessage>{error}</FormMessage>
      <Field label="Find someone" type="search" value={filter} onChange={setFilter} autoFocus />
      <ul className="people">
        {people.map((person) => (
          <li key={person.accountId}>
            <span>
              <PresenceDot accountId={person.accountId} status={presence[person.accountId]} /> {person.displayName}
            </span>
            <button type="button" className="small" disabled={added[person.accountId]} onClick={() => add(person.accountId)}>
              {added[person.accountId] ? 'Added' : `Add ${person.displayName}`}
            </button>
          </li>
        ))}
      </ul>
      {people.length === 0 ? <p className="hint">Nobody matches. Admins can invite people to the instance from the sidebar.</p> : null}
    </Dialog>
  );
};
