export {
  assertPasswordAcceptable,
  authenticate,
  changePassword,
  createAccount,
  emailKeyOf,
  findAccount,
  findAccountByEmail,
  findAccounts,
  saveNewAccount,
  passwordMatches,
  prepareAccount,
  prepareBotAccount,
  type NewAccount,
} from './account.actions.ts';
export { iso, presentAccount, presentSession } from './account.presenter.ts';
export { openAccount, openDisplayName, openEmail } from './account.seal.ts';
export {
  countAccounts,
  findAccountByEmailKey,
  findAccountById,
  insertAccount,
  listAccounts,
  setAccountOperator,
  type AccountRow,
} from './account.queries.ts';
export { lazyPasswordBlocklist, loadPasswordBlocklist, type PasswordBlocklist } from './password.blocklist.ts';
export { createPasswordHasher, type PasswordHasher } from './password.hasher.ts';
export { findPasswordProblem, passwordAdvice, passwordLength } from './password.policy.ts';
export { findServerState, updateServerState, type ServerStateRow } from './server-state.queries.ts';
export {
  assertOperator,
  auditActor,
  bumpCredentialEpoch,
  endSession,
  findEndedCredentials,
  isSessionActor,
  publishCredentialRecheck,
  publishRevocation,
  publishAccountRevocations,
  publishRevocations,
  resolveSession,
  startSession,
  type Actor,
  type Credential,
  type EpochScope,
  type SessionActor,
} from './session.actions.ts';
export type { SessionRow } from './session.queries.ts';
export { followRevocationLog, type RevocationFeed, type RevocationFeedOptions } from './revocation.feed.ts';
export { issueBotToken, resolveApiToken, type ResolvedApiToken } from './token.actions.ts';
export { registerSessionRoutes } from './session.routes.ts';
export { registerTokenRoutes } from './token.routes.ts';
export { summarizeUserAgent } from './session.device.ts';
export { registerIdentityRoutes } from './identity.routes.ts';
export { assertTwoFactorEnrolled, needsTwoFactorEnrollment, type TwoFactorRequirement } from './two-factor.policy.ts';
export { IMPORT_FORMATS, ImportError, describeColumns, findOrCreateImportedAccount, importAccounts, readImportFile, type ImportFormat, type ImportOptions, type ImportSummary } from './account.import.ts';
export { LEGACY_FORMATS, isWrappedLegacyHash, legacyHashProblem, wrapLegacyHash, type LegacyFormat, type LegacyHash, type SaltOrder } from './password.legacy.ts';
export {
  confirmPasswordReset,
  forceReset,
  forceResetAccount,
  forceResetEveryone,
  issueResetLinks,
  refuseLoginIfResetRequired,
  requestPasswordReset,
  type AccountIdPages,
  type ForcedResetResult,
  type IssuedResetLink,
} from './password-reset.actions.ts';
export { registerPasswordResetRoutes } from './password-reset.routes.ts';
export { sealAccountsInClear } from './account.upgrade.ts';
