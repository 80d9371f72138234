export { accessInstance, roleAtLeast, type InstanceAccess } from './instance.access.ts';
export {
  assertMemberRemovable,
  bumpInstanceEpoch,
  bumpMemberEpoch,
  changeRole,
  createFirstInstance,
  createInstance,
  deleteInstance,
  deleteMember,
  isSetupRequired,
  issueSetupToken,
  listInstanceMembers,
  signUp,
} from './instance.actions.ts';
export { presentInstance } from './instance.presenter.ts';
export {
  findInstanceBySlug,
  findMembership,
  insertMembershipIfAbsent,
  listMembershipsOfAccount,
  type InstanceRow,
  type MemberRole,
} from './instance.queries.ts';
export { registerInstanceRoutes } from './instance.routes.ts';
export { forceInstanceReset, forceMemberReset } from './instance-reset.actions.ts';
export { registerInstanceResetRoutes } from './instance-reset.routes.ts';
export { sealInstancesInClear } from './instance.upgrade.ts';
