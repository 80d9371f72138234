export { checkRestore, confirmRestoredCheckpoint, createBackup, restoreBackup, snapshotSqlite, type BackupResult, type Progress } from './backup.actions.ts';
export { looksLikeBackup, readManifest } from './backup.archive.ts';
export { BACKUP_FORMAT, MANIFEST_NAME, parseManifest, type BackupManifest } from './backup.manifest.ts';
export { assertBackupPlacement, assertKeyExportPlacement } from './backup.placement.ts';
export {
  KEY_EXPORT_FORMAT,
  MIN_PASSPHRASE_LENGTH,
  looksLikeKeyExport,
  openKeyExport,
  parseKeyExport,
  readKeyFiles,
  sealKeyExport,
  writeKeyFiles,
  type KeyExportDocument,
  type KeyFile,
  type KeyFingerprints,
} from './key-export.ts';
export { configuredFingerprints, describeMissingKeys, fingerprintsOfFiles } from './key.fingerprints.ts';
export { createMetrics, isMetricsTokenValid, type Metrics, type MetricsOptions } from './metrics.ts';
export { registerMetricsRoute, startMetricsServer } from './metrics.routes.ts';
export { checkReleaseFeedOnce, createUpdateChecker, releaseKeyPathOf, type OneCheck, type UpdateChecker, type UpdateCheckResult } from './update.check.ts';
export {
  CONCLAVE_VERSION,
  FEED_ENVELOPE_FORMAT,
  FEED_FORMAT,
  FeedError,
  SHIPPED_RELEASE_KEY_PATH,
  describeFeedUrl,
  fetchFeed,
  judgeFeed,
  openFeedEnvelope,
  parseFeed,
  readReleaseKey,
  sealFeedEnvelope,
  type Release,
  type ReleaseFeed,
  type Severity,
  type UpdateVerdict,
} from './update.feed.ts';
export { registerUpdateRoutes } from './update.routes.ts';
