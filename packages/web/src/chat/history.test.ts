import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyEvent, stateFromSnapshot, type Message, type Snapshot } from '@conclave/protocol';
import { mergeMessages } from './history.ts';

const ROOM = '01900000-0000-7000-8000-0000000000aa';
const ME = '01900000-0000-7000-8000-000000000001';
const OTHER = '01900000-0000-7000-8000-000000000002';
const message = (n: number, authorId = OTHER): Message => ({
  id: `01900000-0000-7000-8000-${String(n).padStart(12, '0')}`,
  roomId: ROOM,
  authorId,
  body: `message ${n}`,
  createdAt: new Date(1_700_000_000_000 + n).toISOString(),
  editedAt: null,
  deleted: false,
  mentions: { accountIds: [], here: false, all: false },
  reactions: [],
  attachments: [],
});

const snapshot = (messages: Message[], hasMore: boolean, seq: number): Snapshot => ({
  seq,
  rooms: [
    {
      id: ROOM, instanceId: '01900000-0000-7000-8000-0000000000ff', kind: 'room', name: 'general', topic: '', privacy: 'public', archived: false,
      createdBy: ME, createdAt: new Date(0).toISOString(), memberCount: 2, role: 'member', unreadCount: 0, mentionCount: 0, lastReadMessageId: null, lastMessageAt: null,
    },
  ],
  messages: { [ROOM]: { messages, hasMore } },
});

const ids = (state: ReturnType<typeof stateFromSnapshot>): number[] => (state.messages[ROOM]?.messages ?? []).map((m) => Number(m.id.slice(-12)));

describe('keeping a room\'s messages once each', () => {
  test('older pages merge below the newest, overlapping or not, and say whether more remain', () => {
    let state = stateFromSnapshot(ME, snapshot([message(5), message(6), message(7)], true, 10));
    state = mergeMessages(state, ROOM, [message(3), message(4), message(5)], true);
    state = mergeMessages(state, ROOM, [message(1), message(2)], false);
    assert.deepEqual(ids(state), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(state.messages[ROOM]?.hasMore, false);
  });

  test('a resumed stream replaying what the client already holds (its own message, a replay after a reconnect) doubles nothing', () => {
    let state = stateFromSnapshot(ME, snapshot([message(1)], false, 10));
    const mine = message(2, ME);
    // Posted by this client: the answer arrives before the event.
    state = mergeMessages(state, ROOM, [mine]);
    state = applyEvent(state, { type: 'message.created', seq: 11, roomId: ROOM, message: mine });
    state = applyEvent(state, { type: 'message.created', seq: 12, roomId: ROOM, message: message(3) });
    // The connection drops; the resume replays from the last seq the client had, and an event it had already.
    state = applyEvent(state, { type: 'message.created', seq: 12, roomId: ROOM, message: message(3) });
    state = applyEvent(state, { type: 'message.created', seq: 13, roomId: ROOM, message: message(4) });
    assert.deepEqual(ids(state), [1, 2, 3, 4]);
    assert.equal(state.seq, 13);
    assert.equal(state.rooms[ROOM]?.unreadCount, 3, 'messages from others since the (absent) read marker');
  });
});
