import type { MyRoom } from '@conclave/protocol';
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { FormMessage } from '../components/form.tsx';
import { Link, navigate, pathTo, useRoute } from '../router.tsx';
import { useSession, type Me } from '../session.tsx';
import { useChat, useChatStore } from './chat-context.tsx';
import { directPartner, roomLabel } from './names.ts';
import { PresenceDot } from './presence-dot.tsx';
import { RoomView } from './room-view.tsx';
import { SearchPanel } from './search-panel.tsx';
import { BrowseRoomsDialog, CreateRoomDialog, DirectChatDialog, InviteDialog } from './sidebar-dialogs.tsx';

type Open = null | 'create' | 'browse' | 'direct' | 'invite';

const LAST_ROOM = 'conclave.lastRoom';

/** The instance shown: the room's, the one in the address, the last one visited, or the first. */
const pickInstance = (me: Me, routeInstance: string | undefined, room: MyRoom | undefined): string | undefined =>
  room?.instanceId ?? (me.instances.some((i) => i.id === routeInstance) ? routeInstance : undefined) ?? me.instances[0]?.id;

export const ChatScreen = ({ me }: { me: Me }) => {
  const session = useSession();
  const store = useChatStore();
  const route = useRoute();
  const state = useChat((data) => data.state);
  const connection = useChat((data) => data.connection);
  const allMembers = useChat((data) => data.members);
  const [open, setOpen] = useState<Open>(null);
  const [query, setQuery] = useState('');
  const [searching, setSearching] = useState<string | null>(null);
  const searchId = useId();

  const roomId = route.route === 'room' ? route.params['roomId'] : undefined;
  const room = roomId ? state?.rooms[roomId] : undefined;
  const instanceId = pickInstance(me, route.params['instanceId'], room);
  const instance = me.instances.find((i) => i.id === instanceId);
  const members = instanceId ? allMembers[instanceId] : undefined;
  const accountId = me.account.id;

  useEffect(() => {
    if (instanceId) store.setActiveInstance(instanceId);
  }, [store, instanceId]);

  useEffect(() => {
    if (roomId && room) window.localStorage.setItem(LAST_ROOM, roomId);
  }, [roomId, room]);

  // "/" opens the last room visited, or the instance.
  useEffect(() => {
    if (route.route !== 'home' || !state) return;
    const last = window.localStorage.getItem(LAST_ROOM);
    if (last && state.rooms[last]) navigate(pathTo('room', { roomId: last }), { replace: true });
    else if (instanceId) navigate(pathTo('instance', { instanceId }), { replace: true });
  }, [route.route, state, instanceId]);

  useEffect(() => {
    if (!roomId) document.title = instance ? `${instance.name} · Conclave` : 'Conclave';
  }, [roomId, instance]);

  const { rooms, directs } = useMemo(() => {
    const mine = Object.values(state?.rooms ?? {}).filter((r) => r.instanceId === instanceId);
    const label = (r: MyRoom) => roomLabel(r, accountId, members);
    return {
      rooms: mine.filter((r) => r.kind === 'room').sort((a, b) => Number(a.archived) - Number(b.archived) || label(a).localeCompare(label(b))),
      directs: mine.filter((r) => r.kind === 'direct').sort((a, b) => (b.lastMessageAt ?? b.createdAt).localeCompare(a.lastMessageAt ?? a.createdAt)),
    };
  }, [state?.rooms, instanceId, accountId, members]);

  // What waits in each instance, for the switcher: unread messages, and how many mention this person.
  const waiting = useMemo(() => {
    const totals: Record<string, { unread: number; mentions: number }> = {};
    for (const r of Object.values(state?.rooms ?? {})) {
      const total = (totals[r.instanceId] ??= { unread: 0, mentions: 0 });
      total.unread += r.unreadCount;
      total.mentions += r.mentionCount;
    }
    return totals;
  }, [state?.rooms]);

  const isAdmin = instance?.role === 'admin' || instance?.role === 'owner';
  const focusMessageId = route.search.get('message');

  const submitSearch = (event: FormEvent) => {
    event.preventDefault();
    if (query.trim()) setSearching(query.trim());
  };

  const roomLink = (r: MyRoom) => {
    const label = roomLabel(r, accountId, members);
    const unread = r.unreadCount > 0 ? `, ${r.unreadCount} unread` : '';
    const mentions = r.mentionCount > 0 ? `, ${r.mentionCount} mentioning you` : '';
    const partner = r.kind === 'direct' ? directPartner(r, accountId) : undefined;
    return (
      <li key={r.id}>
        <Link
          to={pathTo('room', { roomId: r.id })}
          className={['room-link', r.id === roomId ? 'current' : '', r.unreadCount > 0 ? 'unread' : '', r.archived ? 'archived' : ''].filter(Boolean).join(' ')}
          aria-current={r.id === roomId ? 'page' : undefined}
          aria-label={`${label}${r.archived ? ' (archived)' : ''}${unread}${mentions}`}
          onClick={() => setSearching(null)}
        >
          {partner ? <PresenceDot accountId={partner} /> : <span className="room-sigil" aria-hidden="true">#</span>}
          <span className="room-name">{label}</span>
          {r.mentionCount > 0 ? (
            <span className="badge mention-badge" aria-hidden="true">
              @{r.mentionCount}
            </span>
          ) : r.unreadCount > 0 ? (
            <span className="badge" aria-hidden="true">
              {r.unreadCount}
            </span>
          ) : null}
        </Link>
      </li>
    );
  };

  if (me.instances.length === 0) {
    return (
      <main className="auth">
        <div className="auth-card">
          <h1>No instance yet</h1>
          <p>Your account is not a member of any instance on this server. Ask an administrator for an invite link, or join an open instance.</p>
          <p>
            <Link to={pathTo('signup')}>Join an instance</Link> ·{' '}
            <button type="button" className="link" onClick={() => void session.logOut()}>
              Log out
            </button>
          </p>
        </div>
      </main>
    );
  }

  const showingMain = Boolean(roomId || searching);
  return (
    <div className={`chat ${showingMain ? 'show-main' : 'show-sidebar'}`}>
      <a className="skip-link" href={roomId ? '#composer' : '#rooms-heading'}>
        {roomId ? 'Skip to the message box' : 'Skip to the rooms'}
      </a>
      <aside className="sidebar" aria-label="Instances, rooms and people">
        <div className="sidebar-top">
          <label htmlFor="instance-switcher" className="visually-hidden">
            Instance
          </label>
          <select
            id="instance-switcher"
            value={instanceId}
            onChange={(event) => {
              setSearching(null);
              navigate(pathTo('instance', { instanceId: event.target.value }));
            }}
          >
            {me.instances.map((i) => {
              const total = waiting[i.id];
              const note = total && total.unread > 0 ? ` (${total.unread} unread${total.mentions > 0 ? `, ${total.mentions} mentioning you` : ''})` : '';
              return (
                <option key={i.id} value={i.id}>
                  {i.name}
                  {i.id === instanceId ? '' : note}
                </option>
              );
            })}
          </select>
          <div className="account">
            <Link to={pathTo('account')} className="account-name" title={`${me.account.email}: your account`} aria-label={`My account (${me.account.displayName})`}>
              {me.account.displayName}
            </Link>
            <button type="button" className="small ghost" onClick={() => void session.logOut()}>
              Log out
            </button>
          </div>
        </div>
        <form role="search" className="search-form" onSubmit={submitSearch}>
          <label htmlFor={searchId} className="visually-hidden">
            Search messages
          </label>
          <input id={searchId} type="search" placeholder="Search messages" value={query} onChange={(event) => setQuery(event.target.value)} />
          <button type="submit" className="small">
            Search
          </button>
        </form>
        {connection !== 'live' ? (
          <p className="connection" role="status">
            {connection === 'connecting' ? 'Connecting…' : 'Connection lost: reconnecting…'}
          </p>
        ) : null}
        {session.advice ? (
          <div className="advice" role="status">
            <p>{session.advice}</p>
            <button type="button" className="small ghost" onClick={session.dismissAdvice}>
              Dismiss
            </button>
          </div>
        ) : null}
        <nav aria-labelledby="rooms-heading" className="room-nav">
          <div className="nav-heading">
            <h2 id="rooms-heading" tabIndex={-1}>
              Rooms
            </h2>
            <button type="button" className="small ghost" onClick={() => setOpen('browse')}>
              Browse
            </button>
            <button type="button" className="small ghost" onClick={() => setOpen('create')} aria-label="Create a room">
              + New
            </button>
          </div>
          {state ? (
            <ul className="room-list">{rooms.map(roomLink)}</ul>
          ) : (
            <p className="hint">Loading…</p>
          )}
          {state && rooms.length === 0 ? <p className="hint">You are in no room yet: browse the rooms or create one.</p> : null}
          <div className="nav-heading">
            <h2 id="directs-heading">Direct chats</h2>
            <button type="button" className="small ghost" onClick={() => setOpen('direct')} aria-label="Start a direct chat">
              + New
            </button>
          </div>
          <ul className="room-list" aria-labelledby="directs-heading">
            {directs.map(roomLink)}
          </ul>
        </nav>
        {isAdmin ? (
          <div className="sidebar-bottom">
            <button type="button" className="small" onClick={() => setOpen('invite')}>
              Invite people to {instance?.name}
            </button>
            {instanceId ? (
              <Link to={pathTo('administration', { instanceId })} className="admin-link">
                Administration
              </Link>
            ) : null}
          </div>
        ) : null}
        {me.account.isOperator ? (
          <p className="sidebar-bottom operator-link">
            <Link to={pathTo('incidents')}>Incident console</Link>
          </p>
        ) : null}
      </aside>
      <main className="main-pane" id="main">
        {searching && instanceId ? (
          <SearchPanel instanceId={instanceId} query={searching} me={accountId} onClose={() => setSearching(null)} />
        ) : room ? (
          <RoomView key={room.id} room={room} me={accountId} instanceRole={instance?.role} focusMessageId={focusMessageId} />
        ) : roomId && state ? (
          <div className="empty">
            <FormMessage>This room does not exist, or you are not in it.</FormMessage>
            {instanceId ? <Link to={pathTo('instance', { instanceId })}>Back to the rooms</Link> : null}
          </div>
        ) : (
          <div className="empty">
            <h1>{instance?.name}</h1>
            <p>Pick a room on the left, browse the public rooms, or start a direct chat.</p>
          </div>
        )}
      </main>
      {open === 'create' && instanceId ? <CreateRoomDialog instanceId={instanceId} onClose={() => setOpen(null)} /> : null}
      {open === 'browse' && instanceId ? <BrowseRoomsDialog instanceId={instanceId} onClose={() => setOpen(null)} /> : null}
      {open === 'direct' && instanceId ? <DirectChatDialog instanceId={instanceId} me={accountId} onClose={() => setOpen(null)} /> : null}
      {open === 'invite' && instanceId && instance ? <InviteDialog instanceId={instanceId} slug={instance.slug} onClose={() => setOpen(null)} /> : null}
    </div>
  );
};
