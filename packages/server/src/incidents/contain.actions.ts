import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from '../context.ts';
import { newId, rotateInstanceKeys } from '../crypto/index.ts';
import type { IncidentSegment } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { auditActor, publishAccountRevocations, publishRevocations } from '../identity/index.ts';
import {
  findContainment,
  findSameContainment,
  insertContainment,
  listContainments,
  raiseAccountEpochs,
  raiseServerEpoch,
  requireResets,
  requireResetsInRange,
  saveContainmentProgress,
  type ContainmentRow,
} from './contain.queries.ts';
import { addTimelineEntry, findIncident, updateIncident, type IncidentActor } from './incident.actions.ts';
import { findIncidentScope } from './scope.actions.ts';
import { countTargetAccounts, listTargetAccountIds, listTargetInstanceIds, type SegmentTarget } from './scope.queries.ts';

export const CONTAINMENT_STEPS = ['reset-passwords', 'end-sessions', 'rotate-keys'] as const;
export type ContainmentStep = (typeof CONTAINMENT_STEPS)[number];
export type ContainmentTarget = 'everyone' | IncidentSegment;
export const CONTAINMENT_TARGETS: readonly ContainmentTarget[] = ['everyone', 'affected', 'possibly_affected', 'not_affected'];

/** Accounts per transaction: short enough that SQLite never holds the writer (or the event loop) for long. */
export const CONTAIN_CHUNK = 5_000;

export interface ContainOptions {
  target: ContainmentTarget;
  /** In order; default: reset-passwords, end-sessions. */
  steps?: ContainmentStep[] | undefined;
  /** A scope of the incident (default: its latest); not needed for everyone. */
  scopeId?: string | undefined;
  actor?: IncidentActor;
  chunkSize?: number | undefined;
  /** A pause between chunks, so a busy server keeps answering while containment runs. */
  throttleMs?: number | undefined;
  onProgress?: ((progress: ContainmentProgress) => void) | undefined;
}

export interface ContainmentProgress {
  id: string;
  incidentId: string;
  scopeId: string | null;
  target: ContainmentTarget;
  steps: ContainmentStep[];
  status: 'running' | 'done';
  /** The step running now (null when done). */
  step: ContainmentStep | null;
  stepIndex: number;
  done: number;
  total: number;
  epoch: number;
  startedAt: number;
  updatedAt: number;
  finishedAt: number | null;
  /** True when this call found the same containment already done and changed nothing. */
  alreadyDone?: boolean;
}

const presentContainment = (row: ContainmentRow): ContainmentProgress => {
  const steps = JSON.parse(row.steps) as ContainmentStep[];
  return {
    id: row.id,
    incidentId: row.incident_id,
    scopeId: row.scope_id,
    target: row.target,
    steps,
    status: row.status,
    step: row.status === 'done' ? null : (steps[row.step_index] ?? null),
    stepIndex: Number(row.step_index),
    done: Number(row.done),
    total: Number(row.total),
    epoch: Number(row.epoch),
    startedAt: Number(row.started_at),
    updatedAt: Number(row.updated_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
};

const STEP_WORDS: Record<ContainmentStep, string> = {
  'reset-passwords': 'passwords invalidated (a reset is required)',
  'end-sessions': 'sessions and API tokens ended',
  'rotate-keys': 'instance keys rotated',
};

/** Work units of a step: accounts for passwords and sessions, instances for keys (everyone's sessions: one write). */
const stepTotal = async (ctx: AppContext, step: ContainmentStep, target: SegmentTarget): Promise<number> => {
  if (step === 'rotate-keys') return (await listTargetInstanceIds(ctx.database.db, target)).length;
  if (step === 'end-sessions' && target.segment === 'everyone') return 1;
  return countTargetAccounts(ctx.database.db, target);
};

/**
 * Contains an incident for a target: every step over every account (or instance) of it, a chunk per
 * transaction with the cursor saved in the same transaction, so a run that stops or crashes resumes where
 * it was and nothing is done twice; the same containment run again finds itself done. The credential epoch
 * is fixed when the containment is created: a resumed run writes the same one. Live sockets of ended
 * sessions close within a second on every node (a recheck goes through the bus and the revocation log).
 */
export const containIncident = async (ctx: AppContext, ref: string, options: ContainOptions): Promise<ContainmentProgress> => {
  if (!CONTAINMENT_TARGETS.includes(options.target)) throw new AppError('VALIDATION_FAILED', { message: `The target is one of ${CONTAINMENT_TARGETS.join(', ')}.` });
  const steps = options.steps ?? ['reset-passwords', 'end-sessions'];
  if (steps.length === 0 || steps.some((step) => !CONTAINMENT_STEPS.includes(step)) || new Set(steps).size !== steps.length) {
    throw new AppError('VALIDATION_FAILED', { message: `Steps are some of ${CONTAINMENT_STEPS.join(', ')}, each once.` });
  }
  const chunkSize = options.chunkSize ?? CONTAIN_CHUNK;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1 || chunkSize > 50_000) throw new AppError('VALIDATION_FAILED', { message: 'The chunk size is 1–50,000.' });
  const incident = await findIncident(ctx, ref);
  const scope = options.target === 'everyone' && options.scopeId === undefined ? undefined : await findIncidentScope(ctx, incident.id, options.scopeId);
  const target: SegmentTarget = { scopeId: scope?.id ?? null, segment: options.target, defaultSegment: scope?.defaultSegment ?? 'not_affected' };
  const db = ctx.database.db;
  const stepsJson = JSON.stringify(steps);

  let row = await findSameContainment(db, incident.id, target.scopeId, options.target, stepsJson);
  if (row?.status === 'done') return { ...presentContainment(row), alreadyDone: true };
  if (!row) {
    const now = ctx.now();
    row = {
      id: newId(now),
      incident_id: incident.id,
      scope_id: target.scopeId,
      target: options.target,
      steps: stepsJson,
      status: 'running',
      step_index: 0,
      cursor: null,
      done: 0,
      total: await stepTotal(ctx, steps[0]!, target),
      epoch: now + 1,
      created_by: options.actor?.account.id ?? null,
      started_at: now,
      updated_at: now,
      finished_at: null,
    };
    await insertContainment(db, row);
    await ctx.audit.record({ action: 'incident.contain_start', ...(options.actor ? auditActor(options.actor) : {}), detail: { incidentId: incident.id, containmentId: row.id, target: options.target, steps, scopeId: target.scopeId } });
  }

  const epoch = Number(row.epoch);
  const report = (): void => options.onProgress?.(presentContainment(row!));
  report();
  for (let stepIndex = Number(row.step_index); stepIndex < steps.length; stepIndex += 1) {
    const step = steps[stepIndex]!;
    if (stepIndex !== Number(row.step_index)) {
      // A new step: its own total, from the start.
      row = { ...row, step_index: stepIndex, cursor: null, done: 0, total: await stepTotal(ctx, step, target), updated_at: ctx.now() };
      await db.updateTable('incident_containments').set({ step_index: row.step_index, cursor: null, done: 0, total: row.total, updated_at: row.updated_at }).where('id', '=', row.id).execute();
      report();
    }
    let changed = 0;
    if (step === 'end-sessions' && options.target === 'everyone') {
      if (Number(row.done) === 0) {
        await db.transaction().execute(async (trx) => {
          await raiseServerEpoch(trx, epoch);
          row = { ...row!, done: 1, cursor: 'server', updated_at: ctx.now() };
          await saveContainmentProgress(trx, row.id, { step_index: stepIndex, cursor: row.cursor, done: row.done, status: 'running', updated_at: row.updated_at, finished_at: null });
        });
        changed = 1;
        await publishRevocations(ctx, [{ kind: 'global', notBefore: epoch }]);
        report();
      }
    } else if (step === 'rotate-keys') {
      for (const instanceId of await listTargetInstanceIds(db, target)) {
        if (row.cursor !== null && instanceId <= row.cursor) continue;
        await rotateInstanceKeys(ctx.keyring, db, instanceId, ctx.now());
        row = { ...row, cursor: instanceId, done: Number(row.done) + 1, updated_at: ctx.now() };
        await saveContainmentProgress(db, row.id, { step_index: stepIndex, cursor: row.cursor, done: row.done, status: 'running', updated_at: row.updated_at, finished_at: null });
        changed += 1;
        report();
        if (options.throttleMs) await sleep(options.throttleMs);
      }
    } else {
      for (;;) {
        const ids = await listTargetAccountIds(db, target, row.cursor ?? '', chunkSize);
        if (ids.length === 0) break;
        const last = ids.at(-1)!;
        await db.transaction().execute(async (trx) => {
          if (step === 'reset-passwords') {
            changed += options.target === 'everyone' ? await requireResetsInRange(trx, row!.cursor ?? '', last, epoch) : await requireResets(trx, ids, epoch);
          } else {
            changed += await raiseAccountEpochs(trx, ids, epoch);
          }
          row = { ...row!, cursor: last, done: Number(row!.done) + ids.length, updated_at: ctx.now() };
          await saveContainmentProgress(trx, row.id, { step_index: stepIndex, cursor: row.cursor, done: row.done, status: 'running', updated_at: row.updated_at, finished_at: null });
        });
        if (step === 'end-sessions') await publishAccountRevocations(ctx, ids, epoch);
        report();
        if (ids.length < chunkSize) break;
        if (options.throttleMs) await sleep(options.throttleMs);
      }
    }
    const body = `Containment (${options.target.replace('_', ' ')}): ${STEP_WORDS[step]} — ${Number(row.done).toLocaleString('en-US')} ${step === 'rotate-keys' ? 'instances' : step === 'end-sessions' && options.target === 'everyone' ? 'server-wide write' : 'accounts'}.`;
    await addTimelineEntry(ctx, db, { incidentId: incident.id, kind: 'contain', body, actorId: options.actor?.account.id ?? null });
    await ctx.audit.record({
      action: 'incident.contain',
      ...(options.actor ? auditActor(options.actor) : {}),
      detail: { incidentId: incident.id, containmentId: row.id, step, target: options.target, units: Number(row.done), changed, epoch },
    });
  }
  const finishedAt = ctx.now();
  row = { ...row, status: 'done', finished_at: finishedAt, updated_at: finishedAt };
  await saveContainmentProgress(db, row.id, { step_index: Number(row.step_index), cursor: row.cursor, done: row.done, status: 'done', updated_at: finishedAt, finished_at: finishedAt });
  report();
  const current = await findIncident(ctx, incident.id);
  if (current.status === 'investigating' || current.status === 'identified') {
    await updateIncident(ctx, incident.id, { status: 'contained', note: `Contained (${options.target.replace('_', ' ')}: ${steps.join(', ')}).` }, options.actor);
  }
  return presentContainment(row);
};

export const listIncidentContainments = async (ctx: AppContext, ref: string): Promise<ContainmentProgress[]> => {
  const incident = await findIncident(ctx, ref);
  return (await listContainments(ctx.database.db, incident.id)).map(presentContainment);
};

export const findIncidentContainment = async (ctx: AppContext, ref: string, id: string): Promise<ContainmentProgress> => {
  const incident = await findIncident(ctx, ref);
  const row = await findContainment(ctx.database.db, incident.id, id);
  if (!row) throw new AppError('CONTAINMENT_NOT_FOUND');
  return presentContainment(row);
};
