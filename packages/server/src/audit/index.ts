export { AuditLog, witnessLine, type AuditLogOptions } from './audit.log.ts';
export { findHeadSeq, listCheckpoints, type CheckpointRow } from './audit.queries.ts';
export { verifyAuditLog, type VerifyProblem, type VerifyReport } from './audit.verify.ts';
export { auditKeyName, openCheckpoint, signCheckpoint, signerFromSeed, type AuditSigner, type Checkpoint } from './checkpoint.ts';
export { canonicalEntry, canonicalJson, clientHash, entryLeaf, entryLeafHex, type AuditInput, type AuditRow } from './entry.ts';
export { exportBundle, verifyBundle, type AuditBundle, type BundleReport } from './audit.bundle.ts';
export { findEntries, findLatestCheckpoint, findMatchingEntries, type AuditFilter, type AuditMatch } from './audit.queries.ts';
export { registerAuditRoutes } from './audit.routes.ts';
