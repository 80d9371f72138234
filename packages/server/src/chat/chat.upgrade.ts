import type { AppContext } from '../context.ts';
import type { OwnerCipher } from '../crypto/index.ts';
import { findEditsInClear, findMessagesInClear, resealEdit, resealMessage } from './message.queries.ts';
import { sealBody, sealEditedBody } from './message.seal.ts';
import { blindTerms } from './message.terms.ts';
import { findRoomsInClear, findRoomsWithoutKeys, resealRoom } from './room.queries.ts';
import { replaceTerms } from './search.queries.ts';
import { sealRoomName, sealRoomTopic } from './room.seal.ts';

const CHUNK = 500;

/** Stops a loop whose chunk made no progress (a row that cannot be sealed would otherwise spin forever). */
const progressGuard = (what: string) => {
  let previous: string | undefined;
  return (firstId: string | undefined): void => {
    if (firstId !== undefined && firstId === previous) throw new Error(`Could not seal ${what} ${firstId}; run conclave doctor --scan.`);
    previous = firstId;
  };
};

/** The data keys of the rooms of some rows, loaded before the transaction that uses them. */
const roomCiphers = async (ctx: AppContext, roomIds: Iterable<string>): Promise<Map<string, OwnerCipher>> => {
  const ciphers = new Map<string, OwnerCipher>();
  for (const roomId of new Set(roomIds)) ciphers.set(roomId, await ctx.keyring.owner(roomId));
  return ciphers;
};

/**
 * Seals what was stored in clear before encryption at rest: rooms get data keys, names and topics are
 * sealed (and their uniqueness key becomes a blind index), message bodies and edit history are sealed and
 * the messages indexed for search. Each write checks the value is still the one read, so several nodes
 * starting at once do no harm.
 */
export const sealChatInClear = async (ctx: AppContext): Promise<number> => {
  const db = ctx.database.db;
  let done = 0;
  const guards = { keys: progressGuard('the keys of room'), rooms: progressGuard('room'), messages: progressGuard('message'), edits: progressGuard('an edit of message') };
  for (let rooms = await findRoomsWithoutKeys(db, CHUNK); rooms.length > 0; rooms = await findRoomsWithoutKeys(db, CHUNK)) {
    guards.keys(rooms[0]?.id);
    for (const room of rooms) {
      const keys = await ctx.keyring.prepareRoom(room.instance_id, room.id, ctx.now());
      await db.transaction().execute((trx) => keys.save(trx));
    }
    done += rooms.length;
  }
  for (let rooms = await findRoomsInClear(db, CHUNK); rooms.length > 0; rooms = await findRoomsInClear(db, CHUNK)) {
    guards.rooms(rooms[0]?.id);
    const keys = new Map<string, Awaited<ReturnType<typeof ctx.keyring.instance>>>();
    for (const instanceId of new Set(rooms.map((r) => r.instance_id))) keys.set(instanceId, await ctx.keyring.instance(instanceId));
    await db.transaction().execute(async (trx) => {
      for (const room of rooms) {
        const instanceKeys = keys.get(room.instance_id);
        if (!instanceKeys) continue;
        await resealRoom(trx, room, {
          name: sealRoomName(instanceKeys, room.id, room.name),
          topic: sealRoomTopic(instanceKeys, room.id, room.topic),
          name_key: room.kind === 'room' ? instanceKeys.roomNameKey(room.name) : room.name_key,
        });
      }
    });
    done += rooms.length;
  }
  for (let rows = await findMessagesInClear(db, CHUNK); rows.length > 0; rows = await findMessagesInClear(db, CHUNK)) {
    guards.messages(rows[0]?.id);
    const ciphers = await roomCiphers(ctx, rows.map((r) => r.room_id));
    const instanceOf = new Map<string, Awaited<ReturnType<typeof ctx.keyring.instance>>>();
    for (const cipher of ciphers.values()) if (cipher.instanceId) instanceOf.set(cipher.instanceId, await ctx.keyring.instance(cipher.instanceId));
    await db.transaction().execute(async (trx) => {
      for (const row of rows) {
        const cipher = ciphers.get(row.room_id);
        const instanceKeys = cipher?.instanceId ? instanceOf.get(cipher.instanceId) : undefined;
        if (!cipher || !instanceKeys) continue;
        if (!(await resealMessage(trx, row, sealBody(cipher, row.id, row.body)))) continue;
        if (row.deleted_at === null) await replaceTerms({ db: trx, engine: ctx.database.engine }, { messageId: row.id, roomId: row.room_id, terms: blindTerms(instanceKeys, row.body) });
      }
    });
    done += rows.length;
  }
  for (let edits = await findEditsInClear(db, CHUNK); edits.length > 0; edits = await findEditsInClear(db, CHUNK)) {
    guards.edits(edits[0] ? `${edits[0].message_id}@${edits[0].replaced_at}` : undefined);
    const ciphers = await roomCiphers(ctx, edits.map((e) => e.room_id));
    await db.transaction().execute(async (trx) => {
      for (const edit of edits) {
        const cipher = ciphers.get(edit.room_id);
        if (cipher) await resealEdit(trx, edit, sealEditedBody(cipher, edit.message_id, edit.replaced_at, edit.body));
      }
    });
    done += edits.length;
  }
  return done;
};
