import { Type, type Static } from 'typebox';

/** One release from the signed release feed (docs/decisions/0022). */
export const ReleaseNotice = Type.Object({
  version: Type.String(),
  date: Type.String({ description: 'YYYY-MM-DD' }),
  security: Type.Boolean(),
  severity: Type.Union([Type.Literal('none'), Type.Literal('low'), Type.Literal('medium'), Type.Literal('high'), Type.Literal('critical')]),
  summary: Type.String(),
  url: Type.String({ description: 'https:// only' }),
});
export type ReleaseNotice = Static<typeof ReleaseNotice>;

/** What this node knows of new releases: for operators and instance admins (the web client's update banner). */
export const UpdateStatus = Type.Object({
  /** False when no release feed is configured (UPDATE_FEED_URL). */
  enabled: Type.Boolean(),
  currentVersion: Type.String(),
  /** When this node last tried the feed, and how it went. */
  checkedAt: Type.Union([Type.String(), Type.Null()]),
  result: Type.Union([Type.Literal('never'), Type.Literal('verified'), Type.Literal('unreachable'), Type.Literal('rejected')]),
  /** When the last verified feed was signed; its notice stays while later checks fail. */
  verifiedAt: Type.Union([Type.String(), Type.Null()]),
  latest: Type.Union([ReleaseNotice, Type.Null()]),
  updateAvailable: Type.Boolean(),
  /** A release newer than this one fixes a security problem. */
  security: Type.Boolean(),
  severity: ReleaseNotice.properties.severity,
});
export type UpdateStatus = Static<typeof UpdateStatus>;
