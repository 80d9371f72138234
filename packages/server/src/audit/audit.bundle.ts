import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';
import { findEntries, listCheckpoints, listLeafHashes, type AuditFilter } from './audit.queries.ts';
import { openCheckpoint } from './checkpoint.ts';
import { entryLeaf, type AuditRow } from './entry.ts';
import { LeafTree, verifyConsistency, verifyInclusion } from './merkle.ts';

/**
 * An export that verifies offline with nothing but the audit public key: the chosen entries, each with its
 * inclusion proof in the tree of the newest checkpoint, and every earlier checkpoint with its consistency
 * proof to that one (the log only grew).
 */
export interface AuditBundle {
  format: 'conclave-audit-bundle-v1';
  keyName: string;
  /** The public key the checkpoints claim (base64); a verifier compares it with the one it trusts. */
  publicKey: string;
  filter: { instanceId?: string | undefined; since?: number | undefined; until?: number | undefined };
  checkpoint: string;
  earlier: Array<{ note: string; consistency: string[] }>;
  entries: Array<{ entry: AuditRow; inclusion: string[] }>;
}

export const exportBundle = async (
  db: Kysely<Schema>,
  signer: { keyName: string; publicKey: Buffer },
  filter: Pick<AuditFilter, 'instanceId' | 'since' | 'until'>,
): Promise<AuditBundle> => {
  const checkpoints = await listCheckpoints(db);
  const newest = checkpoints.at(-1);
  if (!newest) throw new Error('There is no signed checkpoint yet; run this on a server that has been serving, or wait for the next checkpoint.');
  const size = Number(newest.size);
  const tree = new LeafTree(await listLeafHashes(db, size));
  const entries: AuditBundle['entries'] = [];
  for (let afterSeq = 0; ; ) {
    const page = await findEntries(db, { ...filter, afterSeq, beforeSeq: size + 1, limit: 10_000, order: 'asc' });
    for (const row of page) entries.push({ entry: row, inclusion: tree.inclusion(Number(row.seq) - 1, size).map((h) => h.toString('hex')) });
    const last = page.at(-1);
    if (page.length < 10_000 || !last) break;
    afterSeq = Number(last.seq);
  }
  return {
    format: 'conclave-audit-bundle-v1',
    keyName: signer.keyName,
    publicKey: signer.publicKey.toString('base64'),
    filter,
    checkpoint: newest.note,
    earlier: checkpoints.slice(0, -1).map((row) => ({ note: row.note, consistency: tree.consistency(Number(row.size), size).map((h) => h.toString('hex')) })),
    entries,
  };
};

export interface BundleReport {
  ok: boolean;
  entries: number;
  size: number;
  problems: string[];
}

/** Checks a bundle with nothing but the public key the verifier trusts. */
export const verifyBundle = (bundle: AuditBundle, trustedPublicKey: Buffer): BundleReport => {
  const problems: string[] = [];
  if (bundle.format !== 'conclave-audit-bundle-v1') return { ok: false, entries: 0, size: 0, problems: ['not a Conclave audit bundle'] };
  if (!Buffer.from(bundle.publicKey, 'base64').equals(trustedPublicKey)) problems.push('the bundle names a different public key than the one trusted');
  const newest = openCheckpoint(bundle.checkpoint, bundle.keyName, trustedPublicKey);
  if (!newest.ok) return { ok: false, entries: bundle.entries.length, size: 0, problems: [...problems, `the newest checkpoint: ${newest.problem}`] };
  const { size, root } = newest.checkpoint;
  for (const { note, consistency } of bundle.earlier) {
    const earlier = openCheckpoint(note, bundle.keyName, trustedPublicKey);
    if (!earlier.ok) problems.push(`an earlier checkpoint: ${earlier.problem}`);
    else if (!verifyConsistency(earlier.checkpoint.size, size, earlier.checkpoint.root, root, consistency.map((h) => Buffer.from(h, 'hex')))) {
      problems.push(`the checkpoint at size ${earlier.checkpoint.size} is not consistent with the one at ${size}: history was rewritten`);
    }
  }
  for (const { entry, inclusion } of bundle.entries) {
    const seq = Number(entry.seq);
    if (!verifyInclusion(seq - 1, size, entryLeaf(entry), inclusion.map((h) => Buffer.from(h, 'hex')), root)) problems.push(`entry ${seq} is not in the signed log as it stands here`);
  }
  return { ok: problems.length === 0, entries: bundle.entries.length, size, problems };
};
