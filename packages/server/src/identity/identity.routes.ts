import { Account, ChangePasswordRequest, ErrorBody, LoginErrorBody, LoginRequest, LoginResponse, MeResponse, UpdateMeRequest } from '@conclave/protocol';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../context.ts';
import { csrfTokenFor } from '../crypto/index.ts';
import type { App } from '../http/types.ts';
import { AppError } from '../errors.ts';
import { actorOf, clearSessionCookie, clientOf, createAuthGuard, sessionActorOf, setSessionCookie } from '../http/auth-guard.ts';
import { bodyEmailKey, perAccountLimit, perIpLimit } from '../http/rate-limits.ts';
import { authenticate, changePassword, emailKeyOf, renameAccount } from './account.actions.ts';
import { presentAccount, presentSession } from './account.presenter.ts';
import { refuseLoginIfResetRequired } from './password-reset.actions.ts';
import { auditActor, endSession, startSession } from './session.actions.ts';
import { startLoginChallenge } from './two-factor.actions.ts';
import { registerTwoFactorRoutes, sendTwoFactorChallenge } from './two-factor.routes.ts';

export interface MembershipLister {
  (accountId: string): Promise<Static<typeof MeResponse>['instances']>;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody };

/** Log in, log out, who am I, change password. */
export const registerIdentityRoutes = (app: App, ctx: AppContext, listMemberships: MembershipLister): void => {
  const authGuard = createAuthGuard(ctx);
  const accountLimit = perAccountLimit(app, ctx.config.authRateLimitPerAccount, bodyEmailKey((email) => emailKeyOf(ctx, email)));
  // Guessing the current password through a stolen session is limited per account too.
  const actorLimit = perAccountLimit(app, ctx.config.authRateLimitPerAccount, (request) => `id:${request.actor?.account.id ?? '-'}`);

  app.post(
    '/api/v1/auth/login',
    {
      schema: { tags: ['auth'], summary: 'Log in with email and password (then /auth/login/2fa when it answers TWO_FACTOR_REQUIRED)', body: LoginRequest, response: { 200: LoginResponse, ...errors, 401: LoginErrorBody } },
      config: perIpLimit(ctx.config.authRateLimitPerIp),
      preHandler: [accountLimit],
    },
    async (request, reply) => {
      const client = clientOf(request);
      let account;
      try {
        account = await authenticate(ctx, request.body.email, request.body.password);
      } catch (error) {
        if (error instanceof AppError && error.code === 'INVALID_CREDENTIALS') {
          // The same entry for a known and an unknown email: the log must not become an oracle either.
          await ctx.audit.record({ action: 'auth.login_failed', detail: { emailKey: emailKeyOf(ctx, request.body.email) }, ip: client.ip, userAgent: client.userAgent });
        }
        throw error;
      }
      // A forced reset: the right password is refused (and a fresh link mailed); a wrong one never got here.
      await refuseLoginIfResetRequired(ctx, account, client);
      // Two-factor authentication on: no session from the password alone (decision 0013).
      if (account.two_factor_enabled_at !== null) return sendTwoFactorChallenge(reply, await startLoginChallenge(ctx, account, client));
      const { token, session } = await startSession(ctx, account.id, { client });
      await ctx.audit.record({ action: 'auth.login', actorId: account.id, sessionId: session.id, detail: { mode: request.body.mode ?? 'cookie' }, ip: client.ip, userAgent: client.userAgent });
      request.log.info({ accountId: account.id, sessionId: session.id }, 'logged in');
      if ((request.body.mode ?? 'cookie') === 'bearer') {
        return { account: presentAccount(account), session: presentSession(session), token };
      }
      setSessionCookie(reply, ctx.config, token, session.expires_at);
      return { account: presentAccount(account), session: presentSession(session), csrfToken: csrfTokenFor(token) };
    },
  );

  app.post(
    '/api/v1/auth/logout',
    { schema: { tags: ['auth'], summary: 'End this session', response: { 204: Type.Null(), 401: ErrorBody, 403: ErrorBody } }, preHandler: [authGuard] },
    async (request, reply) => {
      const actor = actorOf(request);
      await endSession(ctx, actor.session.id);
      await ctx.audit.record({ action: 'session.end', ...auditActor(actor) });
      if (actor.via === 'cookie') clearSessionCookie(reply, ctx.config);
      request.log.info({ sessionId: actor.session.id }, 'logged out');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/me',
    { schema: { tags: ['auth'], summary: 'The logged-in account, its session and its instances', response: { 200: MeResponse, 401: ErrorBody } }, preHandler: [authGuard] },
    async (request) => {
      const actor = sessionActorOf(request);
      return {
        account: presentAccount(actor.account),
        session: presentSession(actor.session),
        instances: await listMemberships(actor.account.id),
        ...(actor.via === 'cookie' ? { csrfToken: csrfTokenFor(actor.token) } : {}),
      };
    },
  );

  app.patch(
    '/api/v1/me',
    {
      schema: { tags: ['auth'], summary: 'Change your display name', body: UpdateMeRequest, response: { 200: Type.Object({ account: Account }), ...errors } },
      preHandler: [authGuard],
    },
    async (request) => {
      const { displayName } = request.body as UpdateMeRequest;
      return { account: presentAccount(await renameAccount(ctx, actorOf(request), displayName)) };
    },
  );

  app.post(
    '/api/v1/me/password',
    {
      schema: {
        tags: ['auth'],
        summary: 'Change password; ends every other session',
        body: ChangePasswordRequest,
        response: { 200: LoginResponse, ...errors },
      },
      config: perIpLimit(ctx.config.authRateLimitPerIp),
      preHandler: [authGuard, actorLimit],
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { token, session } = await changePassword(ctx, actor, request.body.currentPassword, request.body.newPassword);
      request.log.info({ accountId: actor.account.id, sessionId: session.id }, 'password changed; older sessions ended');
      if (actor.via === 'bearer') return { account: presentAccount(actor.account), session: presentSession(session), token };
      setSessionCookie(reply, ctx.config, token, session.expires_at);
      return { account: presentAccount(actor.account), session: presentSession(session), csrfToken: csrfTokenFor(token) };
    },
  );

  registerTwoFactorRoutes(app, ctx);
};
