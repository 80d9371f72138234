import { randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { hashToken } from '../crypto/index.ts';

/** What every authenticator app understands (Google Authenticator ignores anything else). */
export const TOTP_ALGORITHM = 'SHA1';
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/** Codes of the step before and after the current one are accepted too: ±30 s of clock skew. */
export const TOTP_WINDOW_STEPS = 1;

const totpOf = (secretBase32: string, label = 'account', issuer = 'Conclave'): TOTP =>
  new TOTP({ issuer, label, algorithm: TOTP_ALGORITHM, digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secretBase32) });

/** A fresh 160-bit TOTP secret (RFC 4226's recommended size), base32. */
export const newTotpSecret = (): string => new Secret({ size: 20 }).base32;

/** The otpauth:// URI an authenticator app scans (the client renders it as a QR code). */
export const otpauthUri = (secretBase32: string, label: string, issuer: string): string => totpOf(secretBase32, label, issuer).toString();

export const totpStepAt = (ms: number): number => Math.floor(ms / 1000 / TOTP_PERIOD_SECONDS);

/** The time step a code belongs to, within the window around `nowMs`; undefined when it matches none. */
export const matchTotpStep = (secretBase32: string, code: string, nowMs: number): number | undefined => {
  const delta = totpOf(secretBase32).validate({ token: code, timestamp: nowMs, window: TOTP_WINDOW_STEPS });
  return delta === null ? undefined : totpStepAt(nowMs) + delta;
};

/** The code for a moment (tests and the CLI's own checks; the server never needs to show one). */
export const totpCodeAt = (secretBase32: string, ms: number): string => totpOf(secretBase32).generate({ timestamp: ms });

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32: no i, l, o, u, so nothing reads as something else. 20 characters: 100 bits. */
const RECOVERY_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const RECOVERY_LENGTH = 20;

/** A fresh recovery code, shown as four groups of five: `k3f9q-…`. */
export const newRecoveryCode = (): string => {
  let code = '';
  for (let i = 0; i < RECOVERY_LENGTH; i += 1) {
    if (i > 0 && i % 5 === 0) code += '-';
    code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  }
  return code;
};

/** A typed recovery code, as hashed: case, spaces and hyphens ignored; o read as 0, i and l as 1. */
export const normalizeRecoveryCode = (typed: string): string =>
  typed
    .toLowerCase()
    .replace(/[\s-]/g, '')
    .replace(/o/g, '0')
    .replace(/[il]/g, '1');

/** The only form in which a recovery code is stored: SHA-256 of its normalized form (100 bits of entropy). */
export const hashRecoveryCode = (typed: string): string => hashToken(`conclave-recovery-v1:${normalizeRecoveryCode(typed)}`);
