import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Config } from '../config/config.ts';
import type { AppContext } from '../context.ts';
import { TOKEN_PREFIX, csrfTokenFor, safeEqual } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import type { TokenScope } from '@conclave/protocol';
import { isSessionActor, resolveApiToken, resolveSession, type Actor, type SessionActor } from '../identity/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const BEARER = /^Bearer ([A-Za-z0-9_-]{1,200})$/;

/** __Host- pins the cookie to this exact origin over https (no Domain, Path=/, Secure). */
export const sessionCookieName = (config: Config): string => (config.secureCookies ? '__Host-conclave_session' : 'conclave_session');

/** The session cookie's flags (`conclave doctor` checks them against PUBLIC_URL). */
export const sessionCookieOptions = (config: Config): { httpOnly: true; sameSite: 'lax'; secure: boolean; path: '/' } => ({ httpOnly: true, sameSite: 'lax', secure: config.secureCookies, path: '/' });

export const setSessionCookie = (reply: FastifyReply, config: Config, token: string, expiresAt: number): void => {
  reply.setCookie(sessionCookieName(config), token, { ...sessionCookieOptions(config), expires: new Date(expiresAt) });
};

export const clearSessionCookie = (reply: FastifyReply, config: Config): void => {
  reply.clearCookie(sessionCookieName(config), sessionCookieOptions(config));
};

export type Credentials =
  | { via: 'bearer'; token: string }
  | { via: 'cookie'; token: string | undefined }
  | { via: 'malformed' };

/**
 * The token a request presents: `Authorization: Bearer` wins over the session cookie. The cookie carries a
 * session token or nothing: any other token in it (an API token) is not read, for HTTP and the stream alike.
 */
export const readCredentials = (request: FastifyRequest, config: Config): Credentials => {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const token = BEARER.exec(header)?.[1];
    return token ? { via: 'bearer', token } : { via: 'malformed' };
  }
  const cookie = request.cookies[sessionCookieName(config)];
  return { via: 'cookie', token: cookie?.startsWith(TOKEN_PREFIX.session) ? cookie : undefined };
};

export interface AuthGuardOptions {
  /**
   * The API-token scope the route needs. A route that names none is for sessions only: an API token gets
   * TOKEN_NOT_ALLOWED (tokens, sessions and the password are never managed with a token).
   */
  scope?: TokenScope;
}

/**
 * Resolves the session from `Authorization: Bearer` (API clients) or the session cookie (browsers), or a
 * personal API token from `Authorization: Bearer cnv_pat_…` (never from a cookie), held to the route's scope.
 * Cookie-authenticated writes must carry the session's CSRF token in `x-csrf-token`.
 */
export const createAuthGuard = (ctx: AppContext, options: AuthGuardOptions = {}): preHandlerAsyncHookHandler =>
  async function authGuard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const credentials = readCredentials(request, ctx.config);
    if (credentials.via === 'malformed') throw new AppError('UNAUTHENTICATED', { message: 'The Authorization header must be "Bearer <token>".' });
    const { token, via } = credentials;
    if (!token) throw new AppError('UNAUTHENTICATED');
    if (via === 'bearer' && token.startsWith(TOKEN_PREFIX.apiToken)) {
      const client = clientOf(request);
      const found = await resolveApiToken(ctx, token, client);
      if (!found) throw new AppError('UNAUTHENTICATED');
      if (!options.scope) throw new AppError('TOKEN_NOT_ALLOWED');
      if (!found.scopes.includes(options.scope)) {
        throw new AppError('TOKEN_SCOPE_MISSING', { message: `This API token does not have the "${options.scope}" scope this request needs.` });
      }
      request.actor = { account: found.account, session: { id: found.token.id, created_at: found.token.created_at }, via: 'token', token, apiToken: { id: found.token.id, scopes: found.scopes }, client };
      return;
    }
    const resolved = await resolveSession(ctx, token);
    if (!resolved) {
      if (via === 'cookie') clearSessionCookie(reply, ctx.config);
      throw new AppError('UNAUTHENTICATED');
    }
    if (via === 'cookie' && !SAFE_METHODS.has(request.method)) {
      const sent = request.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !safeEqual(sent, csrfTokenFor(token))) throw new AppError('CSRF_TOKEN_INVALID');
    }
    request.actor = { ...resolved, via, token, client: clientOf(request) };
  };

/** Where a request comes from, for the audit log (stored only as keyed hashes). */
export const clientOf = (request: FastifyRequest): { ip: string; userAgent: string | undefined } => ({
  ip: request.ip,
  userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : undefined,
});

/** The actor of a request that passed the auth guard. */
export const actorOf = (request: FastifyRequest): Actor => {
  if (!request.actor) throw new AppError('UNAUTHENTICATED');
  return request.actor;
};

/** The actor of a session-only route (its guard names no scope, so no API token gets here). */
export const sessionActorOf = (request: FastifyRequest): SessionActor => {
  const actor = actorOf(request);
  if (!isSessionActor(actor)) throw new AppError('TOKEN_NOT_ALLOWED');
  return actor;
};

/**
 * Browsers send Origin on cross-site writes. A write whose Origin is not ours is refused before anything
 * else, which also covers log-in CSRF. Requests with an Authorization header cannot be forged cross-site.
 */
export const checkOrigin = (config: Config) =>
  async function originGuard(request: FastifyRequest): Promise<void> {
    if (SAFE_METHODS.has(request.method) || request.headers.authorization !== undefined) return;
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== config.publicUrl.origin) throw new AppError('ORIGIN_NOT_ALLOWED');
  };
