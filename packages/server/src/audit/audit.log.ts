import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Schema } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { findLatestCheckpoint, insertCheckpoint, insertEntries, listLeafHashesAfter, takeSequenceNumbers, type CheckpointRow } from './audit.queries.ts';
import { openCheckpoint, signCheckpoint, type AuditSigner } from './checkpoint.ts';
import { canonicalJson, clientHash, entryLeafHex, type AuditInput, type AuditRow } from './entry.ts';
import { TreeBuilder } from './merkle.ts';

export interface AuditLogOptions {
  db: Kysely<Schema>;
  signer: AuditSigner;
  /** Keys the HMACs of client addresses and user agents. */
  clientKey: Buffer;
  /** The append-only file outside the database that every checkpoint is also written to. */
  witnessPath: string;
  /** A second witness on another system: every checkpoint is POSTed there as JSON { at, note }. */
  witnessUrl?: URL | undefined;
  log: Logger;
  now?: () => number;
  checkpointEveryMs?: number;
  heartbeatEveryMs?: number;
  /** False only for the audit benchmark's baseline: nothing is recorded. No configuration reaches it. */
  enabled?: boolean;
  /** Told of every batch once it is committed (the metrics count entries and log-ins from it). */
  onAppended?: (entries: readonly AuditInput[]) => void;
}

/** One witness record per line: the time and the signed note, as JSON. */
export const witnessLine = (note: string, at: number): string => `${JSON.stringify({ at, note })}\n`;

/**
 * The audit log. `record` resolves once the entry is committed (callers return content only after that:
 * a read that cannot be recorded does not happen). Entries that arrive together are written in one
 * transaction (group commit) with consecutive sequence numbers. Every few seconds a checkpoint of the
 * Merkle tree over all entries is signed, stored and appended to the witness file; a heartbeat entry every
 * minute and start/stop entries make silent gaps visible.
 */
export class AuditLog {
  private readonly options: Required<Omit<AuditLogOptions, 'now' | 'witnessUrl' | 'onAppended'>> & { now: () => number; witnessUrl: URL | undefined; onAppended: ((entries: readonly AuditInput[]) => void) | undefined };
  private queue: Array<{ input: AuditInput; resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;
  private tree = new TreeBuilder();
  private timers: NodeJS.Timeout[] = [];
  private checkpointing: Promise<CheckpointRow | undefined> | undefined;

  constructor(options: AuditLogOptions) {
    this.options = { checkpointEveryMs: 5_000, heartbeatEveryMs: 60_000, enabled: true, now: Date.now, ...options, witnessUrl: options.witnessUrl, onAppended: options.onAppended };
  }

  get publicKey(): Buffer {
    return this.options.signer.publicKey;
  }

  get keyName(): string {
    return this.options.signer.keyName;
  }

  /** The keyed hash of a client address or user agent, as stored (for queries by an investigator). */
  clientHash(kind: 'ip' | 'ua', value: string): string {
    return clientHash(this.options.clientKey, kind, value);
  }

  record(input: AuditInput): Promise<void> {
    if (!this.options.enabled) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.flushing) this.flushing = new Promise<void>((done) => setImmediate(done)).then(() => this.flush());
    });
  }

  /** Starts the heartbeat and the checkpoints (a serving node; one-shot commands only record). */
  async start(): Promise<void> {
    await this.record({ action: 'server.start' });
    this.timers.push(setInterval(() => void this.record({ action: 'audit.heartbeat' }).catch((error: unknown) => this.options.log.error({ err: error }, 'audit heartbeat failed')), this.options.heartbeatEveryMs));
    this.timers.push(setInterval(() => void this.checkpoint().catch((error: unknown) => this.options.log.error({ err: error }, 'audit checkpoint failed')), this.options.checkpointEveryMs));
    for (const timer of this.timers) timer.unref();
  }

  /** Records the stop (for a serving node) and makes a last checkpoint. */
  async close(options: { stopEntry: boolean }): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    if (options.stopEntry) await this.record({ action: 'server.stop' });
    await this.flushing;
    await this.checkpoint();
  }

  /** Signs a checkpoint of every entry committed so far, if there are new ones; stores it and witnesses it. */
  checkpoint(): Promise<CheckpointRow | undefined> {
    this.checkpointing ??= this.makeCheckpoint().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private async makeCheckpoint(): Promise<CheckpointRow | undefined> {
    const { db, signer } = this.options;
    const latest = await findLatestCheckpoint(db);
    if (latest && this.tree.size < Number(latest.size)) this.resumeFrom(latest);
    // Grow this node's copy of the tree with every leaf committed since (by any node), in order.
    for (;;) {
      const page = await listLeafHashesAfter(db, this.tree.size, 10_000);
      if (page.length === 0) break;
      for (const row of page) {
        if (Number(row.seq) !== this.tree.size + 1) {
          // Appends commit in sequence order (the head row lock), so a gap means rows were removed.
          this.options.log.error({ expected: this.tree.size + 1, found: Number(row.seq) }, 'audit log has a gap; no checkpoint signed until conclave audit verify is run');
          return undefined;
        }
        this.tree.push(Buffer.from(row.leaf_hash, 'hex'));
      }
    }
    if (this.tree.size === 0 || (latest && Number(latest.size) >= this.tree.size)) return undefined;
    const root = this.tree.root();
    const note = signCheckpoint(signer, { origin: signer.keyName, size: this.tree.size, root });
    const row: CheckpointRow = { size: this.tree.size, root_hash: root.toString('hex'), note, frontier: JSON.stringify(this.tree.frontier()), created_at: this.options.now() };
    await insertCheckpoint(db, row);
    await mkdir(dirname(this.options.witnessPath), { recursive: true, mode: 0o700 });
    await appendFile(this.options.witnessPath, witnessLine(note, row.created_at), { mode: 0o600 });
    if (this.options.witnessUrl) await this.postWitness(this.options.witnessUrl, note, row.created_at);
    return row;
  }

  /** A missed POST is logged, not fatal: every later checkpoint covers everything before it. */
  private async postWitness(url: URL, note: string, at: number): Promise<void> {
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ at, note }), signal: AbortSignal.timeout(5_000) });
      if (!response.ok) this.options.log.error({ status: response.status, witness: url.origin }, 'the audit witness refused a checkpoint');
    } catch (error) {
      this.options.log.error({ err: error, witness: url.origin }, 'the audit witness could not be reached');
    }
  }

  /**
   * Takes up the tree at the newest checkpoint instead of re-reading every leaf (a new process, or another
   * node got ahead). The stored range is trusted only if it folds to the root this key signed; otherwise
   * the tree is rebuilt from the leaves.
   */
  private resumeFrom(checkpoint: CheckpointRow): void {
    let frontier: string[] = [];
    try {
      frontier = JSON.parse(checkpoint.frontier) as string[];
    } catch {
      return;
    }
    const resumed = Array.isArray(frontier) ? TreeBuilder.fromFrontier(Number(checkpoint.size), frontier) : undefined;
    const opened = openCheckpoint(checkpoint.note, this.options.signer.keyName, this.options.signer.publicKey);
    if (resumed && opened.ok && opened.checkpoint.size === resumed.size && opened.checkpoint.root.equals(resumed.root())) this.tree = resumed;
    else this.options.log.warn({ size: checkpoint.size }, 'the newest audit checkpoint does not match its stored range; rebuilding the tree from every leaf');
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    try {
      const at = this.options.now();
      await this.options.db.transaction().execute(async (trx) => {
        const first = await takeSequenceNumbers(trx, batch.length);
        const rows = batch.map(({ input }, index): AuditRow => {
          const entry = {
            seq: first + index,
            at,
            action: input.action,
            instance_id: input.instanceId ?? null,
            actor_id: input.actorId ?? null,
            session_id: input.sessionId ?? null,
            room_id: input.roomId ?? null,
            detail: canonicalJson(input.detail ?? {}),
            ip_hash: input.ip === undefined ? null : this.clientHash('ip', input.ip),
            ua_hash: input.userAgent === undefined ? null : this.clientHash('ua', input.userAgent),
          };
          return { ...entry, leaf_hash: entryLeafHex(entry) };
        });
        await insertEntries(trx, rows);
      });
      for (const item of batch) item.resolve();
      this.options.onAppended?.(batch.map((item) => item.input));
    } catch (error) {
      this.options.log.error({ err: error, entries: batch.length }, 'audit entries could not be written');
      // Fail closed: what could not be recorded is not done; the caller answers AUDIT_UNAVAILABLE.
      for (const item of batch) item.reject(new AppError('AUDIT_UNAVAILABLE'));
    } finally {
      this.flushing = undefined;
      if (this.queue.length > 0) this.flushing = new Promise<void>((done) => setImmediate(done)).then(() => this.flush());
    }
  }
}
