import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { RateLimit } from '../config/config.ts';
import { AppError } from '../errors.ts';

const exceeded = (_request: FastifyRequest, context: { after: string; ttl: number }): AppError =>
  new AppError('RATE_LIMITED', { message: `Too many attempts; try again in ${context.after}.` });

/** Route config for a per-client-address limit (checked before the body is read). */
export const perIpLimit = (limit: RateLimit) => ({
  rateLimit: {
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: (request: FastifyRequest) => `ip:${request.ip}`,
    errorResponseBuilder: exceeded,
  },
});

/**
 * A per-account limit on top of the per-address one. `keyOf` names the account a request is about: the
 * normalized email in the body for log-in and sign-up (whether or not an account has it, so the limit
 * reveals nothing), or the logged-in account. The plugin runs one limit per request, so this second one
 * calls its limiter directly.
 */
export const perAccountLimit = (app: FastifyInstance, limit: RateLimit, keyOf: (request: FastifyRequest) => string): preHandlerAsyncHookHandler => {
  const check = app.createRateLimit({
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: (request: FastifyRequest) => `account:${keyOf(request)}`,
  });
  return async function accountRateLimit(request: FastifyRequest): Promise<void> {
    const result = await check(request);
    if (!result.isAllowed && result.isExceeded) {
      throw new AppError('RATE_LIMITED', {
        message: `Too many attempts for this account; try again in ${result.ttlInSeconds} s.`,
        headers: { 'retry-after': String(result.ttlInSeconds) },
      });
    }
  };
};

/** The account key of a log-in or sign-up body: its normalized email. */
export const bodyEmailKey =
  (normalize: (email: string) => string) =>
  (request: FastifyRequest): string => {
    const email = (request.body as { email?: unknown } | undefined)?.email;
    return `email:${typeof email === 'string' ? normalize(email) : '-'}`;
  };
