export { AuditLog, witnessLine, type AuditLogOptions } from './audit.log.ts';
export { findHeadSeq, listCheckpoints, listEntriesAfter, type CheckpointRow } from './audit.queries.ts';
export { verifyAuditLog, type VerifyProblem, type VerifyReport } from './audit.verify.ts';
export { openCheckpoint, signCheckpoint, signerFromSeed, type AuditSigner, type Checkpoint } from './checkpoint.ts';
export { canonicalEntry, canonicalJson, clientHash, entryLeaf, type AuditInput, type AuditRow } from './entry.ts';
