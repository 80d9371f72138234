// Search index on SQLite: writing and querying the FTS5 index (decision 0011) against the B-tree term table it
// replaced (one row per word, 0.2's first form), in the same database file and the same run. Both get the same
// messages: 15 words each from a 20,000-word vocabulary skewed like real text (a few words are in most
// messages), as keyed HMAC terms the way the keyring makes them. Measured rounds alternate between the two.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { newId } from '../packages/server/src/crypto/index.ts';
import { migrateToLatest, openDatabase, type Schema } from '../packages/server/src/db/index.ts';
import { findMessagesWithTerms, insertTerms, type MessageTerms, type SearchStore } from '../packages/server/src/chat/search.queries.ts';
import { describeMachine, median, percentile } from './lib/machine.ts';
import { writeResults } from './lib/in-process.ts';

/** Messages indexed before measuring (the index's size matters: random B-tree writes miss the cache). */
const PRELOAD = Number(process.env['BENCH_SEARCH_PRELOAD'] ?? 300_000);
/** A batch as the indexer writes it: 25 ms of posts at 1,000 posts/s. */
const BATCH = 25;
const BATCHES_PER_ROUND = 100;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 6);
const QUERIES_PER_ROUND = 50;
const ROOMS = 500;
const WORDS_PER_MESSAGE = 15;
const VOCABULARY = 20_000;

const key = randomBytes(32);
const termOf = (word: number): string => createHmac('sha256', key).update(`term\u0000w${word}`, 'utf8').digest('base64url').slice(0, 22);
const terms = Array.from({ length: VOCABULARY }, (_, i) => termOf(i));
/** Word ranks skewed towards the start: rank 0 is in ~half the messages, most words are rare. */
const pickWord = (): number => Math.floor(Math.pow(Math.random(), 3) * VOCABULARY);

const BTREE = 'message_terms_btree';

interface Fixture {
  db: Kysely<Schema>;
  store: SearchStore;
  instanceId: string;
  accountId: string;
  roomIds: string[];
}

const makeMessages = async (f: Fixture, count: number): Promise<MessageTerms[]> => {
  const now = Date.now();
  const batch: MessageTerms[] = [];
  const rows = [];
  for (let i = 0; i < count; i += 1) {
    const id = newId(now);
    const roomId = f.roomIds[i % f.roomIds.length] as string;
    const words = new Set<number>();
    while (words.size < WORDS_PER_MESSAGE) words.add(pickWord());
    batch.push({ messageId: id, roomId, terms: [...words].map((w) => terms[w] as string) });
    rows.push({ id, room_id: roomId, author_id: f.accountId, body: 'cv1.1.bench', mentions: '{"accountIds":[],"here":false,"all":false}', created_at: now, edited_at: null, deleted_at: null, deleted_by: null });
  }
  for (let i = 0; i < rows.length; i += 500) await f.db.insertInto('messages').values(rows.slice(i, i + 500)).execute();
  return batch;
};

const writeBtree = async (db: Kysely<Schema>, messages: MessageTerms[]): Promise<void> => {
  const rows = messages.flatMap((m) => m.terms.map((term) => ({ term, message_id: m.messageId, room_id: m.roomId })));
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insertInto(BTREE as 'message_terms')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) => oc.columns(['term', 'message_id']).doNothing())
      .execute();
  }
};

/** The query 0.2's first form ran: every word's rows, grouped per message, newest first. */
const searchBtree = (f: Fixture, wordTerms: string[][], limit: number) =>
  f.db
    .selectFrom(`${BTREE} as mt` as 'message_terms as mt')
    .select(['mt.message_id', 'mt.room_id'])
    .where('mt.term', 'in', wordTerms.flat())
    .where('mt.room_id', 'in', f.roomIds)
    .groupBy(['mt.message_id', 'mt.room_id'])
    .having((eb) => eb.fn.countAll(), '=', wordTerms.length)
    .orderBy('mt.message_id', 'desc')
    .limit(limit)
    .execute();

const searchFts = (f: Fixture, wordTerms: string[][], limit: number) =>
  findMessagesWithTerms(f.store, { accountId: f.accountId, instanceIds: [f.instanceId], wordTerms, limit });

type Side = 'fts5' | 'btree';
const QUERIES: Array<{ name: string; words: number[] }> = [
  { name: 'the most common word (in ~half the messages)', words: [0] },
  { name: 'two common words', words: [1, 2] },
  { name: 'a rare word', words: [VOCABULARY - 1] },
  { name: 'a common and a rare word', words: [0, VOCABULARY - 2] },
];

const timeMs = async (work: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await work();
  return performance.now() - start;
};

export const run = async (): Promise<void> => {
  const startedAt = Date.now();
  const machine = describeMachine(['better-sqlite3', 'kysely']);
  const dir = await mkdtemp(join(tmpdir(), 'conclave-search-bench-'));
  const database = await openDatabase({ dataDir: dir });
  try {
    await migrateToLatest(database);
    const db = database.db;
    const now = Date.now();
    const instanceId = newId(now);
    const accountId = newId(now);
    await db.insertInto('instances').values({ id: instanceId, slug: 'bench', name: 'Bench', signup_mode: 'invite', two_factor_required: 'off', not_before: 0, created_at: now, updated_at: now }).execute();
    const roomIds = Array.from({ length: ROOMS }, () => newId(now));
    await db
      .insertInto('rooms')
      .values(roomIds.map((id, i) => ({ id, instance_id: instanceId, kind: 'room' as const, name: 'cv1.1.x', name_key: `room-${i}`, topic: 'cv1.1.x', privacy: 'public' as const, archived_at: null, created_by: accountId, created_at: now, updated_at: now, last_message_at: null })))
      .execute();
    await sql`create table ${sql.table(BTREE)} (term text not null, message_id text not null references messages(id) on delete cascade, room_id text not null, primary key (term, message_id))`.execute(db);
    await sql`create index ${sql.raw(`${BTREE}_message_idx`)} on ${sql.table(BTREE)} (message_id)`.execute(db);
    const f: Fixture = { db, store: database, instanceId, accountId, roomIds };

    console.log(`preloading ${PRELOAD.toLocaleString('en-US')} messages into both indexes …`);
    for (let done = 0; done < PRELOAD; done += 5_000) {
      const messages = await makeMessages(f, 5_000);
      await db.transaction().execute((trx) => insertTerms({ db: trx, engine: 'sqlite' }, messages));
      await db.transaction().execute((trx) => writeBtree(trx, messages));
    }

    const writes: Record<Side, number[]> = { fts5: [], btree: [] };
    const reads: Record<Side, Record<string, number[]>> = { fts5: {}, btree: {} };
    const hits: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round += 1) {
      const order: Side[] = round % 2 === 0 ? ['fts5', 'btree'] : ['btree', 'fts5'];
      for (const side of order) {
        for (let b = 0; b < BATCHES_PER_ROUND; b += 1) {
          const messages = await makeMessages(f, BATCH);
          writes[side].push(
            await timeMs(() => db.transaction().execute((trx) => (side === 'fts5' ? insertTerms({ db: trx, engine: 'sqlite' }, messages) : writeBtree(trx, messages)))),
          );
          // Keep both indexes over the same messages: the other side indexes the batch untimed.
          await db.transaction().execute((trx) => (side === 'fts5' ? writeBtree(trx, messages) : insertTerms({ db: trx, engine: 'sqlite' }, messages)));
        }
        for (const query of QUERIES) {
          const wordTerms = query.words.map((w) => [terms[w] as string]);
          const samples = (reads[side][query.name] ??= []);
          for (let q = 0; q < QUERIES_PER_ROUND; q += 1) {
            let found = 0;
            samples.push(await timeMs(async () => (found = (side === 'fts5' ? await searchFts(f, wordTerms, 21) : await searchBtree(f, wordTerms, 21)).length)));
            hits[`${side} ${query.name}`] = found;
          }
        }
      }
      console.log(`round ${round + 1}/${ROUNDS}: write median fts5 ${median(writes.fts5).toFixed(2)} ms, btree ${median(writes.btree).toFixed(2)} ms`);
    }
    const totalMessages = Number((await db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const p99 = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 99);
    const fmt = (n: number): string => n.toFixed(2);
    const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}x`;
    const command = `${PRELOAD === 300_000 ? '' : `BENCH_SEARCH_PRELOAD=${PRELOAD} `}npm run bench -- search-index`;
    const lines = [
      `# Search index on SQLite: FTS5 vs the B-tree term table, ${machine.date}`,
      '',
      `Command: \`${command}\` (commit ${machine.commit}). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average at start ${machine.loadAverage.join(' / ')}.`,
      `Packages: better-sqlite3 ${machine.packages['better-sqlite3']}, kysely ${machine.packages['kysely']}. SQLite file in WAL, synchronous=NORMAL (the server's settings).`,
      '',
      `${PRELOAD.toLocaleString('en-US')} messages preloaded, ${totalMessages.toLocaleString('en-US')} at the end, in ${ROOMS} rooms; ${WORDS_PER_MESSAGE} words a message from ${VOCABULARY.toLocaleString('en-US')}, skewed.`,
      `Writes: a batch of ${BATCH} messages in one transaction (what the indexer writes at 1,000 posts/s every 25 ms), ${BATCHES_PER_ROUND} a round a side, ${ROUNDS} rounds alternating which side goes first.`,
      `Reads: a page of 21 hits over every room of the instance, ${QUERIES_PER_ROUND} a round a side.`,
      '',
      '| operation | FTS5 median / p99 ms | B-tree median / p99 ms | B-tree ÷ FTS5 (medians) | hits |',
      '|---|---|---|---|---|',
      `| write a batch of ${BATCH} messages | ${fmt(median(writes.fts5))} / ${fmt(p99(writes.fts5))} | ${fmt(median(writes.btree))} / ${fmt(p99(writes.btree))} | ${ratio(median(writes.btree), median(writes.fts5))} | |`,
      ...QUERIES.map((q) => {
        const a = reads.fts5[q.name] ?? [];
        const b = reads.btree[q.name] ?? [];
        return `| search: ${q.name} | ${fmt(median(a))} / ${fmt(p99(a))} | ${fmt(median(b))} / ${fmt(p99(b))} | ${ratio(median(b), median(a))} | ${hits[`fts5 ${q.name}`]} / ${hits[`btree ${q.name}`]} |`;
      }),
      '',
      `Per message at 1,000 posts/s, the index write costs the FTS5 side ${fmt(median(writes.fts5) / BATCH)} ms and the B-tree side ${fmt(median(writes.btree) / BATCH)} ms of the one SQLite writer: ${fmt((median(writes.fts5) / BATCH) * 100)}% vs ${fmt((median(writes.btree) / BATCH) * 100)}% of a core.`,
      '',
    ];
    const report = lines.join('\n');
    console.log(`\n${report}`);
    const results = { totalSeconds: Math.round((Date.now() - startedAt) / 1000), command, machine, preload: PRELOAD, totalMessages, writes, reads, hits };
    await writeResults('search-index', machine, report, results);
  } finally {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
};
