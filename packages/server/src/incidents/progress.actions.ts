import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { listIncidentContainments, type ContainmentProgress } from './contain.actions.ts';
import { findIncident } from './incident.actions.ts';
import { findIncidentScope } from './scope.actions.ts';
import { countResetsByBucket } from './progress.queries.ts';
import { countTargetAccounts, type SegmentTarget } from './scope.queries.ts';

export interface ResetProgress {
  /** People in the targets of containments that invalidated passwords. */
  required: number;
  /** Of them, people who have set a new one since. */
  completed: number;
  /**
   * Cumulative, per bucket: people who had completed a reset by the end of it, `at` that end (as the notices'
   * series: the console draws both on one time axis).
   */
  series: Array<{ at: number; completed: number }>;
}

export interface IncidentProgress {
  incidentId: string;
  bucketMs: number;
  containments: ContainmentProgress[];
  resets: ResetProgress;
}

/** The buckets a progress series may use, by name (the API's and the CLI's `bucket`). */
export const PROGRESS_BUCKETS = { minute: 60_000, '5m': 300_000, hour: 3_600_000, day: 86_400_000 } as const;
export type ProgressBucket = keyof typeof PROGRESS_BUCKETS;
export const PROGRESS_BUCKETS_MS: readonly number[] = Object.values(PROGRESS_BUCKETS);

/**
 * How containment is going: every containment's progress, and of the people whose passwords were
 * invalidated, how many have reset since, over time (the notices' delivery is in the mailing status).
 */
export const incidentProgress = async (ctx: AppContext, ref: string, bucketMs = 3_600_000): Promise<IncidentProgress> => {
  if (!PROGRESS_BUCKETS_MS.includes(bucketMs)) throw new AppError('VALIDATION_FAILED', { message: `The bucket is one of ${PROGRESS_BUCKETS_MS.join(', ')} ms.` });
  const incident = await findIncident(ctx, ref);
  const containments = await listIncidentContainments(ctx, incident.id);
  const byBucket = new Map<number, number>();
  let required = 0;
  const counted = new Set<string>();
  for (const containment of containments) {
    if (!containment.steps.includes('reset-passwords')) continue;
    // The same people contained twice (a segment, then everyone) count once: the widest target wins.
    const key = containment.target === 'everyone' ? 'everyone' : `${containment.scopeId}:${containment.target}`;
    if (counted.has(key) || counted.has('everyone')) continue;
    counted.add(key);
    const scope = containment.scopeId === null ? undefined : await findIncidentScope(ctx, incident.id, containment.scopeId);
    const target: SegmentTarget = { scopeId: containment.scopeId, segment: containment.target, defaultSegment: scope?.defaultSegment ?? 'not_affected' };
    required += await countTargetAccounts(ctx.database.db, target);
    for (const row of await countResetsByBucket(ctx.database.db, target, containment.startedAt, bucketMs)) byBucket.set(row.bucket, (byBucket.get(row.bucket) ?? 0) + row.people);
  }
  let completed = 0;
  const series = [...byBucket.keys()].sort((a, b) => a - b).map((start) => ({ at: start + bucketMs, completed: (completed += byBucket.get(start) ?? 0) }));
  return { incidentId: incident.id, bucketMs, containments, resets: { required, completed, series } };
};
