import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Message, ServerFrame, Snapshot } from '@conclave/protocol';
import { ChatStore } from './chat-store.ts';

const ROOM = '01900000-0000-7000-8000-0000000000aa';
const ME = '01900000-0000-7000-8000-000000000001';
const OTHER = '01900000-0000-7000-8000-000000000002';
const message = (n: number): Message => ({
  id: `01900000-0000-7000-8000-${String(n).padStart(12, '0')}`,
  roomId: ROOM,
  authorId: OTHER,
  body: `message ${n}`,
  createdAt: new Date(1_700_000_000_000 + n).toISOString(),
  editedAt: null,
  deleted: false,
  mentions: { accountIds: [], here: false, all: false },
  reactions: [],
  attachments: [],
});
const snapshot = (seq: number, numbers: number[]): Snapshot => ({
  seq,
  rooms: [
    {
      id: ROOM, instanceId: '01900000-0000-7000-8000-0000000000ff', kind: 'room', name: 'general', topic: '', privacy: 'public', archived: false,
      createdBy: ME, createdAt: new Date(0).toISOString(), memberCount: 2, role: 'member', unreadCount: 0, mentionCount: 0, lastReadMessageId: null, lastMessageAt: null,
    },
  ],
  messages: { [ROOM]: { messages: numbers.map(message), hasMore: false } },
});

/** A WebSocket stand-in: the test plays the server's frames and closes. */
class FakeSocket {
  static readonly OPEN = 1;
  static opened: FakeSocket[] = [];
  readonly url: string;
  readyState = 1;
  sent: string[] = [];
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor(url: string) {
    this.url = url;
    FakeSocket.opened.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
  }
  frame(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

const bodies = (store: ChatStore): string[] => (store.getData().state?.messages[ROOM]?.messages ?? []).map((m) => m.body);
const until = async (condition: () => boolean): Promise<void> => {
  const deadline = Date.now() + 3000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('the chat store: resume and resync', () => {
  const snapshots: Array<Promise<Snapshot> | Snapshot> = [];
  const realFetch = globalThis.fetch;
  beforeEach(() => {
    FakeSocket.opened = [];
    Object.assign(globalThis, {
      window: { location: { protocol: 'http:', host: 'chat.example' }, setTimeout, clearTimeout, setInterval, clearInterval },
      WebSocket: FakeSocket,
      fetch: async (url: string) => {
        assert.equal(url, '/api/v1/snapshot');
        const next = snapshots.shift();
        if (!next) throw new Error('unexpected snapshot');
        return new Response(JSON.stringify(await next), { status: 200 });
      },
    });
  });
  afterEach(() => {
    Object.assign(globalThis, { fetch: realFetch });
  });

  test('opens the stream after the snapshot, reopens it after a drop with the last seq applied; a replay doubles nothing', async () => {
    snapshots.push(snapshot(10, [1]));
    const store = new ChatStore(() => assert.fail('the session did not end'));
    await store.start(ME);
    assert.equal(FakeSocket.opened[0]?.url, 'ws://chat.example/api/v1/stream?since=10');
    const first = FakeSocket.opened[0] as FakeSocket;
    first.frame({ type: 'ready', seq: 10, resumed: true, accountId: ME });
    first.frame({ type: 'message.created', seq: 11, roomId: ROOM, message: message(2) });
    assert.equal(store.getData().connection, 'live');
    first.onclose?.({ code: 1006 });
    assert.equal(store.getData().connection, 'reconnecting');
    await until(() => FakeSocket.opened.length === 2);
    const second = FakeSocket.opened[1] as FakeSocket;
    assert.equal(second.url, 'ws://chat.example/api/v1/stream?since=11');
    second.frame({ type: 'message.created', seq: 11, roomId: ROOM, message: message(2) });
    second.frame({ type: 'message.created', seq: 12, roomId: ROOM, message: message(3) });
    second.frame({ type: 'ready', seq: 12, resumed: true, accountId: ME });
    assert.deepEqual(bodies(store), ['message 1', 'message 2', 'message 3']);
    assert.equal(store.getData().state?.seq, 12);
    store.stop();
  });

  test('on resync, a fresh snapshot replaces the state and the events that came meanwhile apply on top', async () => {
    snapshots.push(snapshot(10, [1]));
    const store = new ChatStore(() => assert.fail('the session did not end'));
    await store.start(ME);
    const socket = FakeSocket.opened[0] as FakeSocket;
    let answer: (value: Snapshot) => void = () => undefined;
    snapshots.push(new Promise<Snapshot>((resolve) => (answer = resolve)));
    socket.frame({ type: 'resync', reason: 'Too much was missed' });
    // While the snapshot loads: one event it will include (seq 20), one after it (seq 21).
    socket.frame({ type: 'message.created', seq: 20, roomId: ROOM, message: message(5) });
    socket.frame({ type: 'message.created', seq: 21, roomId: ROOM, message: message(6) });
    assert.deepEqual(bodies(store), ['message 1'], 'held until the snapshot is in');
    answer(snapshot(20, [1, 2, 3, 4, 5]));
    await until(() => store.getData().state?.seq === 21);
    assert.deepEqual(bodies(store), ['message 1', 'message 2', 'message 3', 'message 4', 'message 5', 'message 6']);
    socket.frame({ type: 'message.created', seq: 22, roomId: ROOM, message: message(7) });
    assert.equal(bodies(store).at(-1), 'message 7');
    store.stop();
  });

  test('a stream closed because the session ended signs out rather than reconnecting', async () => {
    snapshots.push(snapshot(1, []));
    let ended = 0;
    const store = new ChatStore(() => (ended += 1));
    await store.start(ME);
    (FakeSocket.opened[0] as FakeSocket).onclose?.({ code: 4003 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(ended, 1);
    assert.equal(FakeSocket.opened.length, 1);
    store.stop();
  });
});
