import { isIP } from 'node:net';
import type { AppContext } from '../context.ts';
import { findLatestCheckpoint, findMatchingEntries, verifyAuditLog, type AuditRow } from '../audit/index.ts';
import { listAuthorsOfRooms } from '../chat/index.ts';
import { newId } from '../crypto/index.ts';
import type { IncidentSegment } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { auditActor } from '../identity/index.ts';
import { addTimelineEntry, findIncident, type IncidentActor } from './incident.actions.ts';
import { openSelectors, sealSelectors } from './incident.seal.ts';
import {
  countAllAccounts,
  countAllInstances,
  findCredentialOwners,
  findInstancesByIds,
  findLatestScope,
  findRoomsByIds,
  findScope,
  insertScope,
  listMembersOfInstances,
  listMembershipsOfAccounts,
  listMembersOfRooms,
  listScopeInstances,
  type ScopeAccountRow,
  type ScopeInstanceRow,
  type ScopeRow,
} from './scope.queries.ts';

/**
 * What an investigation knows about the attacker: any of these credentials, accounts or addresses (none:
 * whoever acted), restricted to some instances and a time window. `everyone` skips the log: every account
 * and instance is affected (a stolen database or backup).
 */
export interface ScopeSelectors {
  /** Session or API-token ids (an API token's id is what the audit log records as its session). */
  sessions?: string[] | undefined;
  accounts?: string[] | undefined;
  /** Client addresses, matched by their keyed hash. */
  ips?: string[] | undefined;
  instances?: string[] | undefined;
  since?: number | undefined;
  until?: number | undefined;
  everyone?: boolean | undefined;
}

export type SegmentCounts = Record<IncidentSegment, number>;

export interface ScopeCounts {
  accounts: SegmentCounts;
  instances: SegmentCounts;
  roomsRead: number;
  entriesMatched: number;
}

export interface InstanceScopeSummary {
  roomsRead: number;
  affected: number;
  possiblyAffected: number;
  /** Ids of the rooms whose content was read. */
  rooms: string[];
}

export interface ScopeResult {
  id: string;
  incidentId: string;
  createdAt: number;
  selectors: ScopeSelectors;
  checkpointSize: number;
  checkpointRoot: string;
  verified: boolean;
  defaultSegment: IncidentSegment;
  counts: ScopeCounts;
  instances: Array<{ instanceId: string; segment: IncidentSegment; summary: InstanceScopeSummary }>;
}

/**
 * Audit actions that put room content in front of whoever acted: a read (messages, search, a file), and an
 * outgoing webhook's delivery to its receiver (recorded with the hook's id as the session: a scope naming the
 * hook finds the rooms whose content it carried out).
 */
const CONTENT_READS = new Set(['room.read', 'hook.deliver']);
const SELECTOR_LIMIT = 1_000;
const PAGE = 10_000;

const assertSelectors = (selectors: ScopeSelectors): void => {
  for (const [name, list] of [['sessions', selectors.sessions], ['accounts', selectors.accounts], ['ips', selectors.ips], ['instances', selectors.instances]] as const) {
    if (list && list.length > SELECTOR_LIMIT) throw new AppError('VALIDATION_FAILED', { message: `At most ${SELECTOR_LIMIT} ${name} in one scope.` });
    for (const value of list ?? []) {
      if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw new AppError('VALIDATION_FAILED', { message: `A selector in ${name} is empty or too long.` });
    }
  }
  for (const ip of selectors.ips ?? []) if (isIP(ip) === 0) throw new AppError('VALIDATION_FAILED', { message: `"${ip}" is not an IP address.` });
  if (selectors.since !== undefined && selectors.until !== undefined && selectors.since >= selectors.until) {
    throw new AppError('VALIDATION_FAILED', { message: 'The window is empty: since must be before until.' });
  }
  const narrows = (selectors.sessions?.length ?? 0) + (selectors.accounts?.length ?? 0) + (selectors.ips?.length ?? 0) + (selectors.instances?.length ?? 0) > 0 || selectors.since !== undefined || selectors.until !== undefined;
  if (selectors.everyone === true && narrows) throw new AppError('VALIDATION_FAILED', { message: 'everyone takes no other selector: it puts every account and instance in the affected segment.' });
  if (selectors.everyone !== true && !narrows) {
    throw new AppError('VALIDATION_FAILED', { message: 'Name what to look for (sessions, tokens, accounts, addresses, instances, a time window), or everyone.' });
  }
};

const stringArray = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/**
 * Computes and saves a scope for an incident, from the audit log as of a checkpoint signed now. The log is
 * verified first; a log that does not verify yields no scope unless `allowUnverified` (then it says so).
 *
 * - **affected**: the accounts whose credentials were used or named (the selected sessions' and tokens'
 *   owners, the selected accounts, and every account the matching entries acted as), and everyone whose
 *   content was read (members and authors of a room read); instances with a room read.
 * - **possibly affected**: the other members of an affected instance, and of an instance an affected
 *   account's credentials reach; such instances.
 * - **not affected**: everyone else (the log shows no access).
 */
export const computeScope = async (
  ctx: AppContext,
  ref: string,
  selectors: ScopeSelectors,
  options: { actor?: IncidentActor; allowUnverified?: boolean } = {},
): Promise<ScopeResult> => {
  assertSelectors(selectors);
  const incident = await findIncident(ctx, ref);
  const db = ctx.database.db;

  await ctx.audit.checkpoint();
  const checkpoint = await findLatestCheckpoint(db);
  if (!checkpoint) throw new AppError('AUDIT_NO_CHECKPOINT');
  const report = await verifyAuditLog(db, { keyName: ctx.audit.keyName, publicKey: ctx.audit.publicKey, witnessPath: ctx.config.auditWitnessPath, connection: { ...ctx.config, pgSchema: ctx.database.pgSchema } });
  if (!report.ok && options.allowUnverified !== true) throw new AppError('INCIDENT_SCOPE_UNVERIFIED');
  const maxSeq = Number(checkpoint.size);

  const affected = new Map<string, string>();
  const possibly = new Map<string, string>();
  const instanceSegment = new Map<string, IncidentSegment>();
  const roomsReadByInstance = new Map<string, Set<string>>();
  let entriesMatched = 0;
  let defaultSegment: IncidentSegment = 'not_affected';

  if (selectors.everyone === true) {
    defaultSegment = 'affected';
  } else {
    const sessionIds = selectors.sessions ?? [];
    const credentialAccounts = new Set<string>([...(selectors.accounts ?? []), ...(await findCredentialOwners(db, sessionIds))]);
    const roomIds = new Set<string>();
    const touchedInstances = new Set<string>();
    const match = {
      sessionIds,
      actorIds: selectors.accounts ?? [],
      ipHashes: (selectors.ips ?? []).map((ip) => ctx.audit.clientHash('ip', ip)),
      instanceIds: selectors.instances ?? [],
      since: selectors.since,
      until: selectors.until,
      maxSeq,
      limit: PAGE,
    };
    for (let afterSeq = 0; ; ) {
      const page: AuditRow[] = await findMatchingEntries(db, { ...match, afterSeq });
      if (page.length === 0) break;
      afterSeq = Number(page.at(-1)!.seq);
      for (const entry of page) {
        entriesMatched += 1;
        if (entry.actor_id !== null) credentialAccounts.add(entry.actor_id);
        if (entry.instance_id !== null) touchedInstances.add(entry.instance_id);
        if (CONTENT_READS.has(entry.action) && entry.room_id !== null) roomIds.add(entry.room_id);
        if (entry.action === 'stream.open') {
          // A socket receives every new message of the rooms it subscribed to.
          for (const roomId of stringArray((JSON.parse(entry.detail) as { rooms?: unknown }).rooms)) roomIds.add(roomId);
        }
      }
      if (page.length < PAGE) break;
    }
    const rooms = await findRoomsByIds(db, [...roomIds]);
    const restrict = new Set(selectors.instances ?? []);
    for (const room of rooms) {
      if (restrict.size > 0 && !restrict.has(room.instance_id)) continue;
      const set = roomsReadByInstance.get(room.instance_id) ?? new Set<string>();
      set.add(room.id);
      roomsReadByInstance.set(room.instance_id, set);
      instanceSegment.set(room.instance_id, 'affected');
    }
    const readRoomIds = [...roomsReadByInstance.values()].flatMap((set) => [...set]);
    for (const accountId of credentialAccounts) affected.set(accountId, 'credentials');
    // The people whose content was read: the rooms' members and everyone who wrote there.
    const people = new Set([...(await listMembersOfRooms(db, readRoomIds)), ...(await listAuthorsOfRooms(db, readRoomIds))]);
    for (const accountId of people) if (!affected.has(accountId)) affected.set(accountId, 'read');

    // Instances the used credentials reach, and those the matching entries acted in: possibly affected.
    for (const membership of await listMembershipsOfAccounts(db, [...credentialAccounts])) touchedInstances.add(membership.instance_id);
    for (const instanceId of touchedInstances) {
      if (restrict.size > 0 && !restrict.has(instanceId)) continue;
      if (!instanceSegment.has(instanceId)) instanceSegment.set(instanceId, 'possibly_affected');
    }
    for (const member of await listMembersOfInstances(db, [...instanceSegment.keys()])) {
      if (!affected.has(member.account_id) && !possibly.has(member.account_id)) possibly.set(member.account_id, 'member');
    }
  }

  // Per-instance summaries: rooms read and people in each segment there.
  const instanceIds = [...instanceSegment.keys()];
  const summaries = new Map<string, InstanceScopeSummary>(instanceIds.map((id) => [id, { roomsRead: roomsReadByInstance.get(id)?.size ?? 0, affected: 0, possiblyAffected: 0, rooms: [...(roomsReadByInstance.get(id) ?? [])].sort() }]));
  for (const member of await listMembersOfInstances(db, instanceIds)) {
    const summary = summaries.get(member.instance_id)!;
    if (affected.has(member.account_id)) summary.affected += 1;
    else if (possibly.has(member.account_id)) summary.possiblyAffected += 1;
  }

  const totalAccounts = await countAllAccounts(db);
  const totalInstances = await countAllInstances(db);
  const instancesAffected = [...instanceSegment.values()].filter((s) => s === 'affected').length;
  const counts: ScopeCounts =
    defaultSegment === 'affected'
      ? { accounts: { affected: totalAccounts, possibly_affected: 0, not_affected: 0 }, instances: { affected: totalInstances, possibly_affected: 0, not_affected: 0 }, roomsRead: 0, entriesMatched }
      : {
          accounts: { affected: affected.size, possibly_affected: possibly.size, not_affected: Math.max(0, totalAccounts - affected.size - possibly.size) },
          instances: { affected: instancesAffected, possibly_affected: instanceSegment.size - instancesAffected, not_affected: Math.max(0, totalInstances - instanceSegment.size) },
          roomsRead: [...roomsReadByInstance.values()].reduce((sum, set) => sum + set.size, 0),
          entriesMatched,
        };

  const now = ctx.now();
  const id = newId(now);
  const scope: ScopeRow = {
    id,
    incident_id: incident.id,
    created_at: now,
    created_by: options.actor?.account.id ?? null,
    selectors: sealSelectors(ctx.keyring, id, selectors),
    checkpoint_size: maxSeq,
    checkpoint_root: checkpoint.root_hash,
    verified: report.ok ? 1 : 0,
    default_segment: defaultSegment,
    counts: JSON.stringify(counts),
  };
  const accountRows: ScopeAccountRow[] = [
    ...[...affected].map(([accountId, reason]) => ({ scope_id: id, account_id: accountId, segment: 'affected' as const, reason })),
    ...[...possibly].map(([accountId, reason]) => ({ scope_id: id, account_id: accountId, segment: 'possibly_affected' as const, reason })),
  ];
  const instanceRows: ScopeInstanceRow[] = [...instanceSegment].map(([instanceId, segment]) => ({ scope_id: id, instance_id: instanceId, segment, summary: JSON.stringify(summaries.get(instanceId)) }));
  const describe = `Scope computed against audit checkpoint ${maxSeq}${report.ok ? '' : ' (THE LOG DID NOT VERIFY)'}: ${counts.accounts.affected} affected, ${counts.accounts.possibly_affected} possibly affected, ${counts.accounts.not_affected} not affected people; ${counts.instances.affected} affected and ${counts.instances.possibly_affected} possibly affected instances; ${counts.roomsRead} rooms read.`;
  await db.transaction().execute(async (trx) => {
    await insertScope(trx, scope, accountRows, instanceRows);
    await addTimelineEntry(ctx, trx, { incidentId: incident.id, kind: 'scope', body: describe, actorId: options.actor?.account.id ?? null, at: now });
  });
  await ctx.audit.record({
    action: 'incident.scope',
    ...(options.actor ? auditActor(options.actor) : {}),
    detail: { incidentId: incident.id, scopeId: id, checkpointSize: maxSeq, verified: report.ok, accounts: counts.accounts, instances: counts.instances },
  });
  return presentScope(ctx, scope, instanceRows);
};

const presentScope = (ctx: AppContext, row: ScopeRow, instances: ScopeInstanceRow[]): ScopeResult => ({
  id: row.id,
  incidentId: row.incident_id,
  createdAt: Number(row.created_at),
  selectors: openSelectors<ScopeSelectors>(ctx.keyring, row.id, row.selectors),
  checkpointSize: Number(row.checkpoint_size),
  checkpointRoot: row.checkpoint_root,
  verified: Number(row.verified) === 1,
  defaultSegment: row.default_segment,
  counts: JSON.parse(row.counts) as ScopeCounts,
  instances: instances.map((r) => ({ instanceId: r.instance_id, segment: r.segment, summary: JSON.parse(r.summary) as InstanceScopeSummary })),
});

/** A saved scope of an incident (the latest when no id is given). */
export const findIncidentScope = async (ctx: AppContext, incidentId: string, scopeId?: string): Promise<ScopeResult> => {
  const row = scopeId === undefined ? await findLatestScope(ctx.database.db, incidentId) : await findScope(ctx.database.db, incidentId, scopeId);
  if (!row) throw new AppError('INCIDENT_SCOPE_NOT_FOUND');
  return presentScope(ctx, row, await listScopeInstances(ctx.database.db, row.id));
};

/** Instance slugs by id, for reports. */
export const instanceSlugs = async (ctx: AppContext, ids: string[]): Promise<Map<string, string>> =>
  new Map((await findInstancesByIds(ctx.database.db, ids)).map((row) => [row.id, row.slug]));
