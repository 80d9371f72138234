import { LIMITS, type Room } from '@conclave/protocol';
import { useEffect, useState } from 'react';
import { api, describeError } from '../api.ts';
import { CopyButton } from '../components/copy-button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { useForm } from '../components/use-form.ts';
import { navigate, pathTo } from '../router.tsx';
import { useChat, useChatStore } from './chat-context.tsx';
import { PresenceDot } from './presence-dot.tsx';

export const CreateRoomDialog = ({ instanceId, onClose }: { instanceId: string; onClose(): void }) => {
  const store = useChatStore();
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [privacy, setPrivacy] = useState<'public' | 'private'>('public');
  const form = useForm(async () => {
    const room = await store.createRoom(instanceId, { name: name.trim(), privacy, ...(topic.trim() ? { topic: topic.trim() } : {}) });
    onClose();
    navigate(pathTo('room', { roomId: room.id }));
  });
  return (
    <Dialog title="Create a room" onClose={onClose}>
      <form onSubmit={form.onSubmit}>
        <FormMessage>{form.error}</FormMessage>
        <Field label="Name" value={name} onChange={setName} maxLength={LIMITS.roomNameMaxLength} required autoFocus />
        <Field label="Topic (optional)" value={topic} onChange={setTopic} maxLength={LIMITS.roomTopicMaxLength} />
        <fieldset className="choices">
          <legend>Who can join</legend>
          <label>
            <input type="radio" name="privacy" value="public" checked={privacy === 'public'} onChange={() => setPrivacy('public')} /> Anyone in the instance
          </label>
          <label>
            <input type="radio" name="privacy" value="private" checked={privacy === 'private'} onChange={() => setPrivacy('private')} /> Only people added by a member (private)
          </label>
        </fieldset>
        <SubmitButton busy={form.busy}>Create the room</SubmitButton>
      </form>
    </Dialog>
  );
};

export const BrowseRoomsDialog = ({ instanceId, onClose }: { instanceId: string; onClose(): void }) => {
  const store = useChatStore();
  const mine = useChat((data) => data.state?.rooms);
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ rooms: Room[] }>('GET', `/instances/${instanceId}/rooms/directory`)
      .then((answer) => setRooms(answer.rooms))
      .catch((caught: unknown) => setError(describeError(caught)));
  }, [instanceId]);
  const open = (roomId: string) => {
    onClose();
    navigate(pathTo('room', { roomId }));
  };
  const join = (roomId: string) => {
    setError(null);
    store
      .join(roomId)
      .then(() => open(roomId))
      .catch((caught: unknown) => setError(describeError(caught)));
  };
  return (
    <Dialog title="Browse rooms" onClose={onClose}>
      <FormMessage>{error}</FormMessage>
      {rooms === null && !error ? <p className="hint">Loading…</p> : null}
      <ul className="directory">
        {rooms?.map((room) => (
          <li key={room.id}>
            <div>
              <strong>{room.name}</strong> <span className="hint">{room.memberCount === 1 ? '1 member' : `${room.memberCount} members`}</span>
              {room.topic ? <p className="topic">{room.topic}</p> : null}
            </div>
            {mine?.[room.id] ? (
              <button type="button" className="small" onClick={() => open(room.id)}>
                Open {room.name}
              </button>
            ) : (
              <button type="button" className="small primary" onClick={() => join(room.id)} disabled={room.archived}>
                Join {room.name}
              </button>
            )}
          </li>
        ))}
      </ul>
      {rooms?.length === 0 ? <p className="hint">No public rooms yet: create one.</p> : null}
    </Dialog>
  );
};

export const DirectChatDialog = ({ instanceId, me, onClose }: { instanceId: string; me: string; onClose(): void }) => {
  const store = useChatStore();
  const members = useChat((data) => data.members[instanceId]);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  const people = Object.values(members ?? {})
    .filter((m) => m.accountId !== me && m.displayName.toLowerCase().includes(filter.trim().toLowerCase()))
    .sort((a, b) => a.displayName.localeCompare(b.displayName));
  const start = (accountId: string) => {
    setError(null);
    store
      .openDirect(instanceId, accountId)
      .then((room) => {
        onClose();
        navigate(pathTo('room', { roomId: room.id }));
      })
      .catch((caught: unknown) => setError(describeError(caught)));
  };
  return (
    <Dialog title="Start a direct chat" onClose={onClose}>
      <FormMessage>{error}</FormMessage>
      <Field label="Find someone" type="search" value={filter} onChange={setFilter} autoFocus />
      <ul className="people">
        {people.map((person) => (
          <li key={person.accountId}>
            <span>
              <PresenceDot accountId={person.accountId} /> {person.displayName}
            </span>
            <button type="button" className="small" onClick={() => start(person.accountId)}>
              Chat with {person.displayName}
            </button>
          </li>
        ))}
      </ul>
      {members && people.length === 0 ? <p className="hint">Nobody else here yet.</p> : null}
    </Dialog>
  );
};

/** Admins: a link that lets someone join this instance (shown once; the server keeps only its hash). */
export const InviteDialog = ({ instanceId, slug, onClose }: { instanceId: string; slug: string; onClose(): void }) => {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<'member' | 'admin'>('member');
  const [link, setLink] = useState<string | null>(null);
  const form = useForm(async () => {
    const invite = await api<{ token: string; expiresAt: string }>('POST', `/instances/${instanceId}/invites`, { role, ...(email.trim() ? { email: email.trim() } : {}) });
    setLink(`${window.location.origin}${pathTo('signup')}?instance=${encodeURIComponent(slug)}#invite=${invite.token}`);
  });
  return (
    <Dialog title="Invite people" onClose={onClose}>
      {link ? (
        <>
          <FormMessage kind="success">Send this link to the person you invite. It works once and is shown only now.</FormMessage>
          <div className="field">
            <label htmlFor="invite-link">Invite link</label>
            <input id="invite-link" readOnly value={link} onFocus={(event) => event.target.select()} />
          </div>
          <CopyButton text={link} label="Copy the link" />
        </>
      ) : (
        <form onSubmit={form.onSubmit}>
          <FormMessage>{form.error}</FormMessage>
          <Field label="Their email (optional)" type="email" value={email} onChange={setEmail} hint="Given, only that address can use the invite." />
          <fieldset className="choices">
            <legend>Role</legend>
            <label>
              <input type="radio" name="role" checked={role === 'member'} onChange={() => setRole('member')} /> Member
            </label>
            <label>
              <input type="radio" name="role" checked={role === 'admin'} onChange={() => setRole('admin')} /> Admin
            </label>
          </fieldset>
          <SubmitButton busy={form.busy}>Create an invite link</SubmitButton>
        </form>
      )}
    </Dialog>
  );
};
