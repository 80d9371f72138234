import { readFile } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';
import { findHeadSeq, listCheckpoints, listEntriesAfter } from './audit.queries.ts';
import { openCheckpoint } from './checkpoint.ts';
import { entryLeaf } from './entry.ts';
import { TreeBuilder } from './merkle.ts';

export interface VerifyProblem {
  /** The first sequence number the problem concerns. */
  seq: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  entries: number;
  checkpoints: number;
  witnessed: number;
  problems: VerifyProblem[];
  /** Silences longer than two heartbeats without a stop entry: warnings, not failures. */
  silences: string[];
  firstBadSeq: number | undefined;
}

export interface VerifyOptions {
  keyName: string;
  publicKey: Buffer;
  witnessPath: string | undefined;
  heartbeatEveryMs?: number;
}

interface SignedRoot {
  size: number;
  root: Buffer;
  where: string;
}

const readWitness = async (path: string | undefined, options: VerifyOptions, problems: VerifyProblem[]): Promise<SignedRoot[]> => {
  if (!path) return [];
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const roots: SignedRoot[] = [];
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return;
    let note: string;
    try {
      note = String((JSON.parse(line) as { note: unknown }).note);
    } catch {
      problems.push({ seq: 0, message: `witness line ${index + 1} is not a witness record` });
      return;
    }
    const opened = openCheckpoint(note, options.keyName, options.publicKey);
    if (opened.ok) roots.push({ size: opened.checkpoint.size, root: opened.checkpoint.root, where: `the witness (line ${index + 1})` });
    else problems.push({ seq: 0, message: `witness line ${index + 1}: ${opened.problem}` });
  });
  return roots;
};

/**
 * Recomputes every leaf from its entry's fields and the Merkle tree over them, checks every stored and
 * witnessed checkpoint's signature and root, and reports the first bad sequence number: an altered entry is
 * located exactly; an entry removed in the middle shows as a gap; the newest entries removed show against a
 * checkpoint or the witness that saw them; reordered or forged entries fail the root of the next checkpoint.
 */
export const verifyAuditLog = async (db: Kysely<Schema>, options: VerifyOptions): Promise<VerifyReport> => {
  const problems: VerifyProblem[] = [];
  const silences: string[] = [];
  const stored: SignedRoot[] = [];
  for (const row of await listCheckpoints(db)) {
    const opened = openCheckpoint(row.note, options.keyName, options.publicKey);
    if (!opened.ok) problems.push({ seq: Number(row.size), message: `the checkpoint at size ${row.size}: ${opened.problem}` });
    else if (opened.checkpoint.size !== Number(row.size)) problems.push({ seq: Number(row.size), message: `the checkpoint stored at size ${row.size} signs size ${opened.checkpoint.size}` });
    else stored.push({ size: opened.checkpoint.size, root: opened.checkpoint.root, where: 'a stored checkpoint' });
  }
  const witnessed = await readWitness(options.witnessPath, options, problems);
  const bySize = new Map<number, SignedRoot[]>();
  for (const signed of [...stored, ...witnessed]) bySize.set(signed.size, [...(bySize.get(signed.size) ?? []), signed]);
  const sizes = [...bySize.keys()].sort((a, b) => a - b);

  const tree = new TreeBuilder();
  const silenceMs = 2 * (options.heartbeatEveryMs ?? 60_000);
  let expected = 1;
  let previous: { at: number; action: string; seq: number } | undefined;
  let lastVerifiedSize = 0;
  for (;;) {
    const page = await listEntriesAfter(db, expected - 1, 5_000);
    if (page.length === 0) break;
    for (const row of page) {
      const seq = Number(row.seq);
      if (seq !== expected) {
        problems.push({ seq: expected, message: `entries ${expected}–${seq - 1} are missing` });
        expected = seq;
      }
      const leaf = entryLeaf(row);
      if (leaf.toString('hex') !== row.leaf_hash) {
        problems.push({ seq, message: `entry ${seq} was altered: its fields do not hash to its leaf` });
        // The stored leaf is what was checkpointed; keep it in the tree so this entry is the one blamed.
        tree.push(Buffer.from(row.leaf_hash, 'hex'));
      } else tree.push(leaf);
      for (const signed of bySize.get(tree.size) ?? []) {
        if (signed.root.equals(tree.root())) {
          lastVerifiedSize = tree.size;
          continue;
        }
        // A gap or an altered entry in this range already says where; the root adds nothing more precise.
        const explained = problems.some((p) => p.seq > lastVerifiedSize && p.seq <= seq && p.seq > 0);
        if (!explained) {
          problems.push({ seq: lastVerifiedSize + 1, message: `entries ${lastVerifiedSize + 1}–${tree.size} do not match ${signed.where} signed at size ${tree.size}: an entry there was changed, inserted, removed or moved` });
        }
      }
      const at = Number(row.at);
      if (previous && at - previous.at > silenceMs && previous.action !== 'server.stop') {
        silences.push(`nothing was recorded for ${Math.round((at - previous.at) / 60_000)} min after entry ${previous.seq} (no heartbeat, no stop entry)`);
      }
      previous = { at, action: row.action, seq };
      expected = seq + 1;
    }
  }
  const count = expected - 1;
  const beyond = sizes.filter((size) => size > count);
  if (beyond.length > 0) {
    const largest = beyond[beyond.length - 1] as number;
    problems.push({ seq: count + 1, message: `the newest entries are missing: the log ends at ${count}, but ${bySize.get(largest)?.[0]?.where ?? 'a checkpoint'} saw ${largest}` });
  }
  const head = await findHeadSeq(db);
  if (head > count && beyond.length === 0) problems.push({ seq: count + 1, message: `entries ${count + 1}–${head} were handed out but are not in the log` });
  problems.sort((a, b) => a.seq - b.seq);
  return {
    ok: problems.length === 0,
    entries: count,
    checkpoints: stored.length,
    witnessed: witnessed.length,
    problems,
    silences,
    firstBadSeq: problems[0]?.seq,
  };
};
