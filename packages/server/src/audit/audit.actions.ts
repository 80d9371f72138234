import type { AuditAccessQuery } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { auditActor, type Actor } from '../identity/index.ts';
import { accessInstance } from '../instances/index.ts';
import { findEntries, findLatestCheckpoint, type CheckpointRow } from './audit.queries.ts';
import { openCheckpoint } from './checkpoint.ts';
import type { AuditRow } from './entry.ts';

const REPORT_DEFAULT = 100;

/**
 * Who read which of the instance's rooms, when: for its admins (operators, for every instance). Reading
 * the report is itself recorded first, and fails closed.
 */
export const readAccessReport = async (ctx: AppContext, actor: Actor, instanceId: string, query: AuditAccessQuery): Promise<{ entries: AuditRow[]; hasMore: boolean }> => {
  const { instance } = await accessInstance(ctx, actor, instanceId, 'admin');
  const limit = query.limit ?? REPORT_DEFAULT;
  const since = query.since === undefined ? undefined : Date.parse(query.since);
  const until = query.until === undefined ? undefined : Date.parse(query.until);
  await ctx.audit.record({ action: 'audit.read', instanceId: instance.id, ...auditActor(actor), detail: { report: 'access', roomId: query.roomId ?? null } });
  const rows = await findEntries(ctx.database.db, {
    instanceId: instance.id,
    roomId: query.roomId,
    actorId: query.actorId,
    actions: ['room.read'],
    since,
    until,
    beforeSeq: query.before,
    limit: limit + 1,
    order: 'desc',
  });
  return { entries: rows.slice(0, limit), hasMore: rows.length > limit };
};

/** The newest signed checkpoint, its signature checked by this node against the audit key. */
export const readCurrentCheckpoint = async (ctx: AppContext, actor: Actor, instanceId: string): Promise<CheckpointRow> => {
  await accessInstance(ctx, actor, instanceId, 'admin');
  const row = await findLatestCheckpoint(ctx.database.db);
  if (!row) throw new AppError('AUDIT_NO_CHECKPOINT');
  const opened = openCheckpoint(row.note, ctx.audit.keyName, ctx.audit.publicKey);
  if (!opened.ok) {
    ctx.log.error({ size: row.size, problem: opened.problem }, 'the newest audit checkpoint does not verify');
    throw new AppError('AUDIT_CHECKPOINT_INVALID');
  }
  return row;
};
