import {
  LIMITS,
  PRESENCE_SUBSCRIPTION_MAX,
  STREAM_CLOSE,
  applyEvent,
  stateFromSnapshot,
  type ChatEvent,
  type ClientFrame,
  type ClientState,
  type Message,
  type MyRoom,
  type PresenceStatus,
  type Room,
  type ServerFrame,
  type Snapshot,
} from '@conclave/protocol';
import { api, apiUpload } from '../api.ts';
import { mergeMessages, newestUnread, withNewRoom, withReadMarker } from './history.ts';

export interface MemberInfo {
  accountId: string;
  displayName: string;
  role: 'owner' | 'admin' | 'member';
}

export type Connection = 'connecting' | 'live' | 'reconnecting';

export interface ChatData {
  state: ClientState | null;
  connection: Connection;
  /** Members of each instance whose list was loaded, by account id. */
  members: Record<string, Record<string, MemberInfo>>;
  /** Who is typing in each room, until when (ms). */
  typing: Record<string, Record<string, number>>;
  presence: Record<string, PresenceStatus>;
  loadingOlder: Record<string, boolean>;
}

const TYPING_SHOWN_MS = 6_000;
const TYPING_SEND_EVERY_MS = 2_500;
const RECONNECT_MAX_MS = 5_000;

type Listener = () => void;

/**
 * A signed-in person's chat: a snapshot, then the stream's events applied in seq order with `applyEvent`
 * from the protocol. After a drop the stream is reopened with `?since=` the last seq applied, so the server
 * replays exactly what was missed; when it cannot (`resync`), a fresh snapshot replaces the state and the
 * events that arrived meanwhile are applied on top. Every step is idempotent and messages are held by id,
 * so nothing is lost and nothing is shown twice.
 */
export class ChatStore {
  private data: ChatData = { state: null, connection: 'connecting', members: {}, typing: {}, presence: {}, loadingOlder: {} };
  private readonly listeners = new Set<Listener>();
  private socket: WebSocket | null = null;
  private reconnectTimer: number | undefined;
  private typingTimer: number | undefined;
  private attempts = 0;
  private stopped = false;
  /** Events that arrived while a resync's snapshot was loading. */
  private buffered: ChatEvent[] | null = null;
  private activeInstance: string | null = null;
  private readonly membersLoading = new Map<string, Promise<void>>();
  private readonly lastTypingSent = new Map<string, number>();
  private readonly readSent = new Map<string, string>();
  private readonly onSessionEnded: () => void;

  constructor(onSessionEnded: () => void) {
    this.onSessionEnded = onSessionEnded;
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getData = (): ChatData => this.data;

  private set(change: Partial<ChatData>): void {
    this.data = { ...this.data, ...change };
    for (const listener of this.listeners) listener();
  }

  private setState(update: (state: ClientState) => ClientState): void {
    if (this.data.state) this.set({ state: update(this.data.state) });
  }

  async start(accountId: string): Promise<void> {
    const snapshot = await api<Snapshot>('GET', '/snapshot');
    if (this.stopped) return;
    this.set({ state: stateFromSnapshot(accountId, snapshot) });
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.reconnectTimer);
    window.clearInterval(this.typingTimer);
    this.socket?.close(STREAM_CLOSE.normal, 'leaving');
    this.socket = null;
    this.listeners.clear();
  }

  private connect(): void {
    const state = this.data.state;
    if (this.stopped || !state) return;
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${window.location.host}/api/v1/stream?since=${state.seq}`);
    this.socket = socket;
    socket.onmessage = (message) => {
      if (this.socket !== socket || typeof message.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(message.data) as ServerFrame;
      } catch {
        return;
      }
      this.handle(frame);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      if (event.code === STREAM_CLOSE.unauthenticated || event.code === STREAM_CLOSE.sessionRevoked) {
        this.onSessionEnded();
        return;
      }
      this.set({ connection: 'reconnecting' });
      // 250 ms, 500 ms, 1 s, … up to 5 s, with jitter so a restarted server is not met by everyone at once.
      const delay = Math.min(RECONNECT_MAX_MS, 250 * 2 ** this.attempts) * (0.5 + Math.random() / 2);
      this.attempts += 1;
      this.reconnectTimer = window.setTimeout(() => this.connect(), delay);
    };
  }

  /** Reconnect now (the browser came back online, or the tab came back). */
  nudge(): void {
    if (this.socket || this.stopped || !this.data.state) return;
    window.clearTimeout(this.reconnectTimer);
    this.connect();
  }

  private send(frame: ClientFrame): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private handle(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ready':
        this.attempts = 0;
        this.set({ connection: 'live' });
        this.subscribePresence();
        return;
      case 'resync':
        void this.resync();
        return;
      case 'session.revoked':
        this.onSessionEnded();
        return;
      case 'typing': {
        const state = this.data.state;
        if (!state || frame.accountId === state.accountId) return;
        const room = { ...this.data.typing[frame.roomId], [frame.accountId]: Date.now() + TYPING_SHOWN_MS };
        this.set({ typing: { ...this.data.typing, [frame.roomId]: room } });
        this.typingTimer ??= window.setInterval(() => this.expireTyping(), 1000);
        return;
      }
      case 'presence': {
        const presence = { ...this.data.presence };
        for (const change of frame.changes) presence[change.accountId] = change.status;
        this.set({ presence });
        return;
      }
      case 'error':
      case 'pong':
        return;
      default:
        this.apply(frame);
    }
  }

  private apply(event: ChatEvent): void {
    if (this.buffered) {
      this.buffered.push(event);
      return;
    }
    const state = this.data.state;
    if (!state) return;
    let typing = this.data.typing;
    if (event.type === 'message.created' && typing[event.roomId]?.[event.message.authorId]) {
      // Their message arrived: they are no longer typing it.
      const { [event.message.authorId]: _done, ...rest } = typing[event.roomId] ?? {};
      typing = { ...typing, [event.roomId]: rest };
    }
    this.set({ state: applyEvent(state, event), typing });
    if (event.type === 'message.created') this.ensureAuthor(event.message);
    if (event.type === 'member.joined' || event.type === 'member.left') {
      // Someone new to this instance: their name is needed.
      const instanceId = event.room.instanceId;
      if (!this.data.members[instanceId]?.[event.accountId]) void this.loadMembers(instanceId, true);
    }
  }

  private async resync(): Promise<void> {
    if (this.buffered) return;
    this.buffered = [];
    try {
      const snapshot = await api<Snapshot>('GET', '/snapshot');
      const state = this.data.state;
      if (!state || this.stopped) return;
      let next = stateFromSnapshot(state.accountId, snapshot);
      for (const event of this.buffered) next = applyEvent(next, event);
      this.set({ state: next });
    } finally {
      this.buffered = null;
    }
  }

  private expireTyping(): void {
    const now = Date.now();
    let changed = false;
    const typing: ChatData['typing'] = {};
    for (const [roomId, people] of Object.entries(this.data.typing)) {
      const still = Object.fromEntries(Object.entries(people).filter(([, until]) => until > now));
      if (Object.keys(still).length !== Object.keys(people).length) changed = true;
      if (Object.keys(still).length > 0) typing[roomId] = still;
    }
    if (changed) this.set({ typing });
    if (Object.keys(typing).length === 0) {
      window.clearInterval(this.typingTimer);
      this.typingTimer = undefined;
    }
  }

  // Members and presence

  /** The instance on screen: its members are loaded and their presence followed. */
  setActiveInstance(instanceId: string): void {
    if (this.activeInstance === instanceId) return;
    this.activeInstance = instanceId;
    void this.loadMembers(instanceId).then(() => this.subscribePresence());
  }

  loadMembers(instanceId: string, force = false): Promise<void> {
    const pending = this.membersLoading.get(instanceId);
    if (pending && !force) return pending;
    const loading = api<{ members: MemberInfo[] }>('GET', `/instances/${instanceId}/members`)
      .then(({ members }) => {
        this.set({ members: { ...this.data.members, [instanceId]: Object.fromEntries(members.map((m) => [m.accountId, { accountId: m.accountId, displayName: m.displayName, role: m.role }])) } });
      })
      .catch(() => undefined)
      .finally(() => {
        if (this.membersLoading.get(instanceId) === loading) this.membersLoading.delete(instanceId);
      });
    this.membersLoading.set(instanceId, loading);
    return loading;
  }

  private ensureAuthor(message: Message): void {
    const instanceId = this.data.state?.rooms[message.roomId]?.instanceId;
    if (instanceId && this.data.members[instanceId] && !this.data.members[instanceId][message.authorId]) void this.loadMembers(instanceId, true);
  }

  private subscribePresence(): void {
    const members = this.activeInstance ? this.data.members[this.activeInstance] : undefined;
    if (!members) return;
    this.send({ type: 'presence.subscribe', accountIds: Object.keys(members).slice(0, PRESENCE_SUBSCRIPTION_MAX) });
  }

  setAway(away: boolean): void {
    this.send({ type: 'presence', status: away ? 'away' : 'online' });
  }

  // Reading

  /** The room was opened with no messages held (joined since the snapshot): load its latest page. */
  async loadLatest(roomId: string): Promise<void> {
    const page = await api<{ messages: Message[]; hasMore: boolean }>('GET', `/rooms/${roomId}/messages?limit=${LIMITS.historyPageDefault}`);
    this.setState((state) => mergeMessages(state, roomId, page.messages, page.hasMore));
  }

  /** The page before the oldest message held; resolves false when there is nothing older. */
  async loadOlder(roomId: string): Promise<boolean> {
    const held = this.data.state?.messages[roomId];
    if (!held?.hasMore || this.data.loadingOlder[roomId]) return false;
    const oldest = held.messages[0];
    if (!oldest) {
      await this.loadLatest(roomId);
      return true;
    }
    this.set({ loadingOlder: { ...this.data.loadingOlder, [roomId]: true } });
    try {
      const page = await api<{ messages: Message[]; hasMore: boolean }>('GET', `/rooms/${roomId}/messages?before=${oldest.id}&limit=${LIMITS.historyPageDefault}`);
      this.setState((state) => mergeMessages(state, roomId, page.messages, page.hasMore));
      return page.messages.length > 0;
    } finally {
      this.set({ loadingOlder: { ...this.data.loadingOlder, [roomId]: false } });
    }
  }

  /** Moves the read marker to the newest message held (once per message). */
  markRead(roomId: string): void {
    const state = this.data.state;
    if (!state) return;
    const messageId = newestUnread(state, roomId);
    if (!messageId || this.readSent.get(roomId) === messageId) return;
    this.readSent.set(roomId, messageId);
    this.setState((s) => withReadMarker(s, roomId, messageId));
    void api('POST', `/rooms/${roomId}/read`, { messageId }).catch(() => this.readSent.delete(roomId));
  }

  // Writing: each answer is merged at once; its event, arriving after, changes nothing.

  async post(roomId: string, body: string): Promise<void> {
    const message = await api<Message>('POST', `/rooms/${roomId}/messages`, { body });
    this.lastTypingSent.delete(roomId);
    this.setState((state) => mergeMessages(state, roomId, [message]));
  }

  /** Posts a file (a message carrying it) to a room. */
  async upload(roomId: string, file: File): Promise<void> {
    const form = new FormData();
    form.append('file', file, file.name);
    const message = await apiUpload<Message>(`/rooms/${roomId}/files`, form);
    this.setState((state) => mergeMessages(state, roomId, [message]));
  }

  async edit(roomId: string, messageId: string, body: string): Promise<void> {
    const message = await api<Message>('PATCH', `/rooms/${roomId}/messages/${messageId}`, { body });
    this.setState((state) => mergeMessages(state, roomId, [message]));
  }

  async remove(roomId: string, messageId: string): Promise<void> {
    const message = await api<Message>('DELETE', `/rooms/${roomId}/messages/${messageId}`);
    this.setState((state) => mergeMessages(state, roomId, [message]));
  }

  async react(roomId: string, messageId: string, emoji: string, present: boolean): Promise<void> {
    await api(present ? 'PUT' : 'DELETE', `/rooms/${roomId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`);
  }

  /** Tells the room this person is typing, at most every few seconds. */
  typing(roomId: string): void {
    const now = Date.now();
    if (now - (this.lastTypingSent.get(roomId) ?? 0) < TYPING_SEND_EVERY_MS) return;
    this.lastTypingSent.set(roomId, now);
    this.send({ type: 'typing', roomId });
  }

  // Rooms

  async createRoom(instanceId: string, request: { name: string; topic?: string; privacy: 'public' | 'private' }): Promise<Room> {
    const room = await api<Room>('POST', `/instances/${instanceId}/rooms`, request);
    this.setState((state) => withNewRoom(state, room, 'owner'));
    return room;
  }

  async openDirect(instanceId: string, accountId: string): Promise<Room> {
    const room = await api<Room>('POST', `/instances/${instanceId}/direct`, { accountId });
    this.setState((state) => withNewRoom(state, room, 'member'));
    if (!this.data.state?.messages[room.id]?.messages.length) await this.loadLatest(room.id);
    return room;
  }

  async join(roomId: string): Promise<void> {
    await api('POST', `/rooms/${roomId}/join`);
  }

  async updateRoom(roomId: string, change: { topic?: string; name?: string }): Promise<void> {
    const room = await api<Room>('PATCH', `/rooms/${roomId}`, change);
    this.setState((state) => {
      const mine = state.rooms[roomId];
      return mine ? { ...state, rooms: { ...state.rooms, [roomId]: { ...mine, ...room } } } : state;
    });
  }

  async setArchived(roomId: string, archived: boolean): Promise<void> {
    const room = await api<Room>('POST', `/rooms/${roomId}/${archived ? 'archive' : 'unarchive'}`);
    this.setState((state) => {
      const mine = state.rooms[roomId];
      return mine ? { ...state, rooms: { ...state.rooms, [roomId]: { ...mine, ...room } } } : state;
    });
  }

  async leave(roomId: string): Promise<void> {
    await api('POST', `/rooms/${roomId}/leave`);
    this.setState((state) => {
      const rooms: Record<string, MyRoom> = { ...state.rooms };
      const messages = { ...state.messages };
      delete rooms[roomId];
      delete messages[roomId];
      return { ...state, rooms, messages };
    });
  }

  async addMember(roomId: string, accountId: string): Promise<void> {
    await api('POST', `/rooms/${roomId}/members`, { accountId });
  }
}
