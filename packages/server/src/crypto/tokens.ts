import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefixes make leaked tokens recognizable to secret scanners and to people. */
export const TOKEN_PREFIX = {
  session: 'cnv_s_',
  invite: 'cnv_i_',
  setup: 'cnv_setup_',
  loginChallenge: 'cnv_2fa_',
  /** Personal API tokens. */
  apiToken: 'cnv_pat_',
  reset: 'cnv_r_',
  /** An incoming webhook's secret (its URL carries it). */
  incomingHook: 'cnv_wh_',
  /** An outgoing webhook's signing secret (sealed, not hashed: the server signs with it). */
  hookSecret: 'cnv_whsec_',
} as const;

/** A fresh 256-bit secret token, base64url, with a recognizable prefix. Shown once; store only hashToken(). */
export const newSecretToken = (prefix: string): string => `${prefix}${randomBytes(32).toString('base64url')}`;

/** The only form in which a secret token is stored. */
export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Constant-time comparison of two strings of any length. */
export const safeEqual = (a: string, b: string): boolean => {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right) && a.length === b.length;
};

/** The CSRF token that goes with a session: derived from the session token, so nothing extra is stored. */
export const csrfTokenFor = (sessionToken: string): string =>
  createHmac('sha256', sessionToken).update('conclave-csrf-v1').digest('base64url');
