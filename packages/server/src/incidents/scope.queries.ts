import type { Kysely, Selectable } from 'kysely';
import type { IncidentScopeAccountsTable, IncidentScopeInstancesTable, IncidentScopesTable, IncidentSegment, Schema } from '../db/index.ts';

export type ScopeRow = Selectable<IncidentScopesTable>;
export type ScopeAccountRow = Selectable<IncidentScopeAccountsTable>;
export type ScopeInstanceRow = Selectable<IncidentScopeInstancesTable>;

/** Rows per multi-row insert: under PostgreSQL's 65,535 parameters, and short statements on SQLite. */
const INSERT_CHUNK = 2_000;

export const findRoomsByIds = async (db: Kysely<Schema>, roomIds: string[]): Promise<Array<{ id: string; instance_id: string }>> => {
  const rows: Array<{ id: string; instance_id: string }> = [];
  for (let i = 0; i < roomIds.length; i += INSERT_CHUNK) {
    rows.push(...(await db.selectFrom('rooms').select(['id', 'instance_id']).where('id', 'in', roomIds.slice(i, i + INSERT_CHUNK)).execute()));
  }
  return rows;
};

/** The people who are members of these rooms now (their authors come from chat: listAuthorsOfRooms). */
export const listMembersOfRooms = async (db: Kysely<Schema>, roomIds: string[]): Promise<string[]> => {
  const people = new Set<string>();
  for (let i = 0; i < roomIds.length; i += INSERT_CHUNK) {
    for (const row of await db.selectFrom('room_members').select('account_id').where('room_id', 'in', roomIds.slice(i, i + INSERT_CHUNK)).execute()) people.add(row.account_id);
  }
  return [...people];
};

/** Owners of sessions and API tokens by id (either kind of id may be given). */
export const findCredentialOwners = async (db: Kysely<Schema>, ids: string[]): Promise<string[]> => {
  if (ids.length === 0) return [];
  const sessions = await db.selectFrom('sessions').select('account_id').where('id', 'in', ids).execute();
  const tokens = await db.selectFrom('api_tokens').select('account_id').where('id', 'in', ids).execute();
  return [...new Set([...sessions, ...tokens].map((row) => row.account_id))];
};

export const listMembershipsOfAccounts = async (db: Kysely<Schema>, accountIds: string[]): Promise<Array<{ instance_id: string; account_id: string }>> => {
  const rows: Array<{ instance_id: string; account_id: string }> = [];
  for (let i = 0; i < accountIds.length; i += INSERT_CHUNK) {
    rows.push(...(await db.selectFrom('memberships').select(['instance_id', 'account_id']).where('account_id', 'in', accountIds.slice(i, i + INSERT_CHUNK)).execute()));
  }
  return rows;
};

export const listMembersOfInstances = async (db: Kysely<Schema>, instanceIds: string[]): Promise<Array<{ instance_id: string; account_id: string }>> => {
  const rows: Array<{ instance_id: string; account_id: string }> = [];
  for (let i = 0; i < instanceIds.length; i += INSERT_CHUNK) {
    rows.push(...(await db.selectFrom('memberships').select(['instance_id', 'account_id']).where('instance_id', 'in', instanceIds.slice(i, i + INSERT_CHUNK)).execute()));
  }
  return rows;
};

export const countAllAccounts = async (db: Kysely<Schema>): Promise<number> =>
  Number((await db.selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

export const countAllInstances = async (db: Kysely<Schema>): Promise<number> =>
  Number((await db.selectFrom('instances').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

export const findInstancesByIds = async (db: Kysely<Schema>, ids: string[]): Promise<Array<{ id: string; slug: string }>> =>
  ids.length === 0 ? [] : db.selectFrom('instances').select(['id', 'slug']).where('id', 'in', ids).execute();

export const insertScope = async (db: Kysely<Schema>, scope: ScopeRow, accounts: ScopeAccountRow[], instances: ScopeInstanceRow[]): Promise<void> => {
  await db.insertInto('incident_scopes').values(scope).execute();
  for (let i = 0; i < accounts.length; i += INSERT_CHUNK) await db.insertInto('incident_scope_accounts').values(accounts.slice(i, i + INSERT_CHUNK)).execute();
  for (let i = 0; i < instances.length; i += INSERT_CHUNK) await db.insertInto('incident_scope_instances').values(instances.slice(i, i + INSERT_CHUNK)).execute();
};

export const findScope = (db: Kysely<Schema>, incidentId: string, scopeId: string): Promise<ScopeRow | undefined> =>
  db.selectFrom('incident_scopes').selectAll().where('incident_id', '=', incidentId).where('id', '=', scopeId).executeTakeFirst();

export const findLatestScope = (db: Kysely<Schema>, incidentId: string): Promise<ScopeRow | undefined> =>
  db.selectFrom('incident_scopes').selectAll().where('incident_id', '=', incidentId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();

export const listScopes = (db: Kysely<Schema>, incidentId: string): Promise<ScopeRow[]> =>
  db.selectFrom('incident_scopes').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').execute();

export const listScopeInstances = (db: Kysely<Schema>, scopeId: string): Promise<ScopeInstanceRow[]> =>
  db.selectFrom('incident_scope_instances').selectAll().where('scope_id', '=', scopeId).orderBy('instance_id').execute();

/** Where to walk: every account, or one segment of a saved scope (its default segment is everyone not listed). */
export interface SegmentTarget {
  scopeId: string | null;
  /** 'everyone' ignores the scope. */
  segment: 'everyone' | IncidentSegment;
  defaultSegment: IncidentSegment;
}

/** The next page of account ids of a target, in id order after `afterId`. */
export const listTargetAccountIds = async (db: Kysely<Schema>, target: SegmentTarget, afterId: string, limit: number): Promise<string[]> => {
  if (target.segment === 'everyone' || target.scopeId === null) {
    return (await db.selectFrom('accounts').select('id').where('id', '>', afterId).orderBy('id').limit(limit).execute()).map((row) => row.id);
  }
  if (target.segment === target.defaultSegment) {
    const scopeId = target.scopeId;
    const segment = target.segment;
    return (
      await db
        .selectFrom('accounts as a')
        .leftJoin('incident_scope_accounts as s', (join) => join.onRef('s.account_id', '=', 'a.id').on('s.scope_id', '=', scopeId))
        .select('a.id')
        .where('a.id', '>', afterId)
        .where((eb) => eb.or([eb('s.account_id', 'is', null), eb('s.segment', '=', segment)]))
        .orderBy('a.id')
        .limit(limit)
        .execute()
    ).map((row) => row.id);
  }
  return (
    await db
      .selectFrom('incident_scope_accounts')
      .select('account_id')
      .where('scope_id', '=', target.scopeId)
      .where('segment', '=', target.segment)
      .where('account_id', '>', afterId)
      .orderBy('account_id')
      .limit(limit)
      .execute()
  ).map((row) => row.account_id);
};

/** How many accounts a target holds. */
export const countTargetAccounts = async (db: Kysely<Schema>, target: SegmentTarget): Promise<number> => {
  const total = await countAllAccounts(db);
  if (target.segment === 'everyone' || target.scopeId === null) return total;
  const listed = await db
    .selectFrom('incident_scope_accounts as s')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select(['s.segment', (eb) => eb.fn.countAll().as('n')])
    .where('s.scope_id', '=', target.scopeId)
    .groupBy('s.segment')
    .execute();
  const bySegment = new Map(listed.map((row) => [row.segment, Number(row.n)]));
  if (target.segment === target.defaultSegment) {
    const elsewhere = [...bySegment].filter(([segment]) => segment !== target.segment).reduce((sum, [, n]) => sum + n, 0);
    return total - elsewhere;
  }
  return bySegment.get(target.segment) ?? 0;
};

/** Instance ids of a target (instances are few enough to list at once). */
export const listTargetInstanceIds = async (db: Kysely<Schema>, target: SegmentTarget): Promise<string[]> => {
  const all = (await db.selectFrom('instances').select('id').orderBy('id').execute()).map((row) => row.id);
  if (target.segment === 'everyone' || target.scopeId === null) return all;
  const listed = new Map((await listScopeInstances(db, target.scopeId)).map((row) => [row.instance_id, row.segment]));
  return all.filter((id) => (listed.get(id) ?? target.defaultSegment) === target.segment);
};
