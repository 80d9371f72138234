import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';

/** The epoch that governs one person's sessions in one instance: the instance's or the membership's, whichever is later. */
const instanceEpoch = (row: { not_before: number; membership_not_before: number }): number => Math.max(row.not_before, row.membership_not_before);

/** What a new socket subscribes to: the account's instances (with the epoch that governs it there, its role and the 2FA rule) and rooms. */
export const findStreamSubscriptions = async (
  db: Kysely<Schema>,
  accountId: string,
): Promise<{
  instances: Array<{ id: string; not_before: number; role: 'owner' | 'admin' | 'member'; two_factor_required: 'off' | 'admins' | 'everyone' }>;
  rooms: Array<{ id: string; instance_id: string }>;
}> => ({
  instances: (
    await db
      .selectFrom('memberships')
      .innerJoin('instances', 'instances.id', 'memberships.instance_id')
      .select(['instances.id', 'instances.not_before', 'memberships.not_before as membership_not_before', 'memberships.role', 'instances.two_factor_required'])
      .where('memberships.account_id', '=', accountId)
      .execute()
  ).map(({ membership_not_before, ...row }) => ({ ...row, not_before: instanceEpoch({ not_before: row.not_before, membership_not_before }) })),
  rooms: await db
    .selectFrom('room_members')
    .innerJoin('rooms', 'rooms.id', 'room_members.room_id')
    .select(['rooms.id', 'rooms.instance_id'])
    .where('room_members.account_id', '=', accountId)
    .execute(),
});

/** For these accounts, the epoch that governs each of their instances (as findStreamSubscriptions computes it). */
export const findInstanceEpochs = async (db: Kysely<Schema>, accountIds: string[]): Promise<Array<{ account_id: string; instance_id: string; not_before: number }>> =>
  (
    await db
      .selectFrom('memberships')
      .innerJoin('instances', 'instances.id', 'memberships.instance_id')
      .select(['memberships.account_id', 'memberships.instance_id', 'instances.not_before', 'memberships.not_before as membership_not_before'])
      .where('memberships.account_id', 'in', accountIds)
      .execute()
  ).map((row) => ({ account_id: row.account_id, instance_id: row.instance_id, not_before: instanceEpoch(row) }));
