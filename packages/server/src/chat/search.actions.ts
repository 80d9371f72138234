import type { SearchHit, SearchQuery } from '@conclave/protocol';
import { LIMITS } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { Actor } from '../identity/index.ts';
import { accessInstance, listMembershipsOfAccount } from '../instances/index.ts';
import { presentMessage } from './chat.presenter.ts';
import { listReactions } from './message.queries.ts';
import { openMessage } from './message.seal.ts';
import { searchWords } from './message.terms.ts';
import { accessRoom, type RoomAccess } from './room.access.ts';
import { recordRoomRead } from './room.audit.ts';
import { findMessagesByIds, findMessagesWithTerms } from './search.queries.ts';

/** The instances a search covers: the one asked for, or every one this session may still enter. */
const searchableInstances = async (ctx: AppContext, actor: Actor, instanceId: string | undefined): Promise<string[]> => {
  if (instanceId !== undefined) return [(await accessInstance(ctx, actor, instanceId)).instance.id];
  const ids: string[] = [];
  for (const membership of await listMembershipsOfAccount(ctx.database.db, actor.account.id)) {
    try {
      ids.push((await accessInstance(ctx, actor, membership.id)).instance.id);
    } catch {
      // an instance whose credential epoch this session predates
    }
  }
  return ids;
};

/**
 * Finds messages holding every word of the query, newest first, in the rooms the person can read. The
 * database holds only keyed blind indexes of words; each hit's room is entered through accessRoom (the
 * one road to room content) and its body opened and checked against the words before it is shown.
 */
export const searchMessages = async (ctx: AppContext, actor: Actor, query: SearchQuery): Promise<{ results: SearchHit[]; hasMore: boolean }> => {
  const words = searchWords(query.q);
  if (words.length === 0) throw new AppError('SEARCH_QUERY_EMPTY');
  // What this node has just posted is searchable at once (other nodes' within their batch delay).
  await ctx.searchIndexer.flush();
  if (words.length > LIMITS.searchMaxWords) throw new AppError('SEARCH_TOO_MANY_WORDS');
  const limit = query.limit ?? LIMITS.searchPageDefault;

  let instanceIds: string[];
  if (query.roomId !== undefined) {
    const access = await accessRoom(ctx, actor, query.roomId, 'read');
    if (query.instanceId !== undefined && access.room.instance_id !== query.instanceId) throw new AppError('ROOM_NOT_FOUND');
    instanceIds = [access.room.instance_id];
  } else {
    instanceIds = await searchableInstances(ctx, actor, query.instanceId);
  }
  const instanceKeys = await Promise.all(instanceIds.map((id) => ctx.keyring.instance(id)));
  const matches = await findMessagesWithTerms(ctx.database, {
    accountId: actor.account.id,
    instanceIds,
    roomId: query.roomId,
    wordTerms: words.map((word) => instanceKeys.map((keys) => keys.term(word))),
    before: query.before,
    limit: limit + 1,
  });
  const page = matches.slice(0, limit);
  const rows = new Map((await findMessagesByIds(ctx.database.db, page.map((m) => m.message_id))).map((row) => [row.id, row]));
  const reactions = await listReactions(ctx.database.db, [...rows.keys()]);
  const rooms = new Map<string, RoomAccess | null>();
  const results: SearchHit[] = [];
  for (const match of page) {
    const row = rows.get(match.message_id);
    if (!row) continue;
    if (!rooms.has(row.room_id)) {
      rooms.set(row.room_id, await accessRoom(ctx, actor, row.room_id, 'read').catch(() => null));
    }
    const access = rooms.get(row.room_id);
    if (!access) continue;
    const opened = openMessage(await ctx.keyring.owner(access.room.id, [row.body]), row);
    const bodyWords = new Set(searchWords(opened.body));
    if (!words.every((word) => bodyWords.has(word))) continue;
    results.push({
      message: presentMessage(opened, reactions),
      room: { id: access.room.id, instanceId: access.room.instance_id, kind: access.room.kind, name: access.room.name },
    });
  }
  const shownByRoom = new Map<string, SearchHit[]>();
  for (const hit of results) shownByRoom.set(hit.room.id, [...(shownByRoom.get(hit.room.id) ?? []), hit]);
  await Promise.all(
    [...shownByRoom].map(([roomId, hits]) =>
      recordRoomRead(ctx, actor, { id: roomId, instance_id: hits[0]?.room.instanceId ?? '' }, { kind: 'search', count: hits.length, messageIds: hits.map((h) => h.message.id) }),
    ),
  );
  return { results, hasMore: matches.length > limit };
};
