import type { Insertable, Kysely, Selectable } from 'kysely';
import type { InstancesTable, InvitesTable, MembershipsTable, Schema } from '../db/index.ts';

export type InstanceRow = Selectable<InstancesTable>;
export type MembershipRow = Selectable<MembershipsTable>;
export type InviteRow = Selectable<InvitesTable>;
export type MemberRole = MembershipRow['role'];

export const findInstanceBySlug = (db: Kysely<Schema>, slug: string): Promise<InstanceRow | undefined> =>
  db.selectFrom('instances').selectAll().where('slug', '=', slug).executeTakeFirst();

export const findInstanceById = (db: Kysely<Schema>, id: string): Promise<InstanceRow | undefined> =>
  db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();

export const insertInstance = async (db: Kysely<Schema>, row: InstanceRow): Promise<void> => {
  await db.insertInto('instances').values(row).execute();
};

export const updateInstanceFields = async (
  db: Kysely<Schema>,
  id: string,
  patch: Partial<Pick<InstanceRow, 'name' | 'signup_mode' | 'two_factor_required' | 'not_before'>>,
  now: number,
): Promise<void> => {
  await db.updateTable('instances').set({ ...patch, updated_at: now }).where('id', '=', id).execute();
};

export const findMembership = (db: Kysely<Schema>, instanceId: string, accountId: string): Promise<MembershipRow | undefined> =>
  db.selectFrom('memberships').selectAll().where('instance_id', '=', instanceId).where('account_id', '=', accountId).executeTakeFirst();

/** Inserts the membership unless it exists; true when a row was added. */
export const insertMembershipIfAbsent = async (db: Kysely<Schema>, row: Insertable<MembershipsTable>): Promise<boolean> => {
  const result = await db
    .insertInto('memberships')
    .values(row)
    .onConflict((oc) => oc.columns(['instance_id', 'account_id']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
};

export const updateMembershipRole = async (db: Kysely<Schema>, instanceId: string, accountId: string, role: MemberRole): Promise<void> => {
  await db.updateTable('memberships').set({ role }).where('instance_id', '=', instanceId).where('account_id', '=', accountId).execute();
};

/** Ends one person's membership of an instance; false when they were not a member. */
export const deleteMembership = async (db: Kysely<Schema>, instanceId: string, accountId: string): Promise<boolean> => {
  const result = await db.deleteFrom('memberships').where('instance_id', '=', instanceId).where('account_id', '=', accountId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
};

/** One person's credential epoch in one instance; false when they are not a member. */
export const updateMembershipNotBefore = async (db: Kysely<Schema>, instanceId: string, accountId: string, notBefore: number): Promise<boolean> => {
  const result = await db.updateTable('memberships').set({ not_before: notBefore }).where('instance_id', '=', instanceId).where('account_id', '=', accountId).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
};

export const countOwners = async (db: Kysely<Schema>, instanceId: string): Promise<number> => {
  const row = await db
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('instance_id', '=', instanceId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow();
  return Number(row.count);
};

export interface MembershipOfAccount {
  id: string;
  slug: string;
  name: string;
  role: MemberRole;
  twoFactorRequired: InstanceRow['two_factor_required'];
}

export const listMembershipsOfAccount = (db: Kysely<Schema>, accountId: string): Promise<MembershipOfAccount[]> =>
  db
    .selectFrom('memberships')
    .innerJoin('instances', 'instances.id', 'memberships.instance_id')
    .select(['instances.id', 'instances.slug', 'instances.name', 'memberships.role', 'instances.two_factor_required as twoFactorRequired'])
    .where('memberships.account_id', '=', accountId)
    .orderBy('instances.slug')
    .execute();

export interface MemberListing {
  account_id: string;
  display_name: string;
  email: string;
  role: MemberRole;
  created_at: number;
  bot_owner_id: string | null;
}

export const listMembers = (db: Kysely<Schema>, instanceId: string): Promise<MemberListing[]> =>
  db
    .selectFrom('memberships')
    .innerJoin('accounts', 'accounts.id', 'memberships.account_id')
    .select(['memberships.account_id', 'accounts.display_name', 'accounts.email', 'memberships.role', 'memberships.created_at', 'accounts.bot_owner_id'])
    .where('memberships.instance_id', '=', instanceId)
    .orderBy('memberships.created_at')
    .orderBy('memberships.account_id')
    .execute();

export const insertInvite = async (db: Kysely<Schema>, row: InviteRow): Promise<void> => {
  await db.insertInto('invites').values(row).execute();
};

export const findInviteByTokenHash = (db: Kysely<Schema>, tokenHash: string): Promise<InviteRow | undefined> =>
  db.selectFrom('invites').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();

/** Marks an invite used if nobody did first; false when it was already taken. */
export const consumeInvite = async (db: Kysely<Schema>, id: string, accountId: string, now: number): Promise<boolean> => {
  const result = await db
    .updateTable('invites')
    .set({ used_at: now, used_by: accountId })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
};

/** Completes setup once: false when another request (or node) completed it first. */
export const markSetupCompleted = async (db: Kysely<Schema>, now: number): Promise<boolean> => {
  const result = await db
    .updateTable('server_state')
    .set({ setup_completed_at: now, setup_token_hash: null })
    .where('id', '=', 1)
    .where('setup_completed_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
};

/** Deletes up to `limit` messages of an instance's rooms (with their edits, terms, mentions and reactions); the count deleted. */
export const deleteInstanceMessagesChunk = async (db: Kysely<Schema>, instanceId: string, limit: number): Promise<number> => {
  const result = await db
    .deleteFrom('messages')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('messages as m')
        .innerJoin('rooms as r', 'r.id', 'm.room_id')
        .select('m.id')
        .where('r.instance_id', '=', instanceId)
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
};

/** Deletes the instance row (memberships, rooms, invites follow by cascade) and its logged events. */
export const deleteInstanceRow = async (db: Kysely<Schema>, instanceId: string): Promise<void> => {
  await db.deleteFrom('events').where('instance_id', '=', instanceId).execute();
  await db.deleteFrom('events').where('room_id', 'in', (eb) => eb.selectFrom('rooms').select('id').where('instance_id', '=', instanceId)).execute();
  await db.deleteFrom('instances').where('id', '=', instanceId).execute();
};

/** Instances made before encryption at rest, which have no keys yet. */
export const findInstancesWithoutKeys = (db: Kysely<Schema>): Promise<InstanceRow[]> =>
  db
    .selectFrom('instances')
    .selectAll()
    .where((eb) => eb.not(eb.exists(eb.selectFrom('root_keys').select('id').whereRef('root_keys.instance_id', '=', 'instances.id').where('root_keys.purpose', '=', 'kek'))))
    .execute();

/** Invites whose email lookup key is still the address itself (64 hex characters is a blind index). */
export const findInvitesWithClearEmail = (db: Kysely<Schema>): Promise<InviteRow[]> =>
  db.selectFrom('invites').selectAll().where('email_key', 'is not', null).where('email_key', 'like', '%@%').execute();

export const setInviteEmailKey = async (db: Kysely<Schema>, id: string, emailKey: string): Promise<void> => {
  await db.updateTable('invites').set({ email_key: emailKey }).where('id', '=', id).execute();
};
