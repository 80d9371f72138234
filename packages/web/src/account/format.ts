/** A time from the API (ISO 8601) in the reader's locale and zone, to the minute. */
export const formatTime = (iso: string): string => {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
};

/**
 * The recovery codes as a file to keep: what they are, for which account, when they were made. Nothing but
 * the codes and this explanation.
 */
export const recoveryCodesFile = (codes: readonly string[], account: string, madeAt: Date): string =>
  [
    `Conclave recovery codes for ${account}`,
    `Made ${madeAt.toISOString()}. Each code works once, in place of a code from your authenticator app.`,
    'Making new codes cancels these. Keep this file somewhere safe, apart from your password.',
    '',
    ...codes,
    '',
  ].join('\n');
