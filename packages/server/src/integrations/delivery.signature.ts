import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How an outgoing webhook's request is signed (docs/integrations.md), after Slack's and Stripe's schemes:
 *
 *   X-Conclave-Timestamp: <unix seconds when sent>
 *   X-Conclave-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 * A receiver recomputes the HMAC over the exact bytes it received, compares in constant time, and refuses a
 * timestamp more than five minutes from its clock (a replayed request). Each attempt is signed afresh.
 */
export const SIGNATURE_VERSION = 'v1';
export const SIGNATURE_TOLERANCE_S = 300;

export const signatureOf = (secret: string, timestamp: number, body: string): string =>
  `${SIGNATURE_VERSION}=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;

/** What a receiver does (and what our tests check the signer against, beside openssl). */
export const verifySignature = (secret: string, header: { timestamp: string | undefined; signature: string | undefined }, body: string, nowS: number): boolean => {
  if (header.timestamp === undefined || header.signature === undefined || !/^\d{1,12}$/.test(header.timestamp)) return false;
  const timestamp = Number(header.timestamp);
  if (Math.abs(nowS - timestamp) > SIGNATURE_TOLERANCE_S) return false;
  const expected = Buffer.from(signatureOf(secret, timestamp, body));
  const given = Buffer.from(header.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
};
