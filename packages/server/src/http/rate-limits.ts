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
 * A per-account limit, keyed by the normalized email in the body, whether or not an account has it:
 * the limit itself must not reveal which addresses exist. (The plugin runs one limit per request, so
 * this second one calls its limiter directly.)
 */
export const perAccountLimit = (app: FastifyInstance, limit: RateLimit, keyOf: (email: string) => string): preHandlerAsyncHookHandler => {
  const check = app.createRateLimit({
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: (request: FastifyRequest) => {
      const email = (request.body as { email?: unknown } | undefined)?.email;
      return `account:${typeof email === 'string' ? keyOf(email) : '-'}`;
    },
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
