export { importSlack, type SlackImportOptions, type SlackImportSummary } from './slack.actions.ts';
export { DEFAULT_ARCHIVE_LIMITS, SlackArchive, type ArchiveLimits } from './slack.archive.ts';
export { convertMrkdwn } from './slack.mrkdwn.ts';
