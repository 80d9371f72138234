import {
  ErrorBody,
  LoginResponse,
  LoginSecondStepRequest,
  RecoveryCodesResponse,
  TwoFactorEnableRequest,
  TwoFactorProofRequest,
  TwoFactorSetupRequest,
  TwoFactorSetupResponse,
  TwoFactorStatus,
  ERROR_CATALOG,
} from '@conclave/protocol';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { csrfTokenFor } from '../crypto/index.ts';
import { actorOf, clientOf, createAuthGuard, setSessionCookie } from '../http/auth-guard.ts';
import { perAccountLimit, perIpLimit } from '../http/rate-limits.ts';
import type { App } from '../http/types.ts';
import { iso, presentAccount, presentSession } from './account.presenter.ts';
import { TOTP_ALGORITHM, TOTP_DIGITS, TOTP_PERIOD_SECONDS } from './two-factor.codes.ts';
import {
  completeLoginChallenge,
  disableTwoFactor,
  enableTwoFactor,
  findTwoFactorState,
  regenerateRecoveryCodes,
  startTwoFactorSetup,
} from './two-factor.actions.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody, 429: ErrorBody };

/**
 * The answer to a right password when 2FA is on: 401 TWO_FACTOR_REQUIRED with the challenge for the second
 * step (POST /api/v1/auth/login/2fa). A client that knows nothing of 2FA sees a failed log-in, never a session.
 */
export const sendTwoFactorChallenge = (reply: FastifyReply, challenge: { token: string; expiresAt: number }): FastifyReply =>
  reply
    .code(ERROR_CATALOG.TWO_FACTOR_REQUIRED.status)
    .type('application/json; charset=utf-8')
    .send({
      error: { code: 'TWO_FACTOR_REQUIRED', message: ERROR_CATALOG.TWO_FACTOR_REQUIRED.message, requestId: String(reply.request.id) },
      challenge: { token: challenge.token, expiresAt: iso(challenge.expiresAt), methods: ['totp', 'recovery_code'] },
    });

/** The second step of log-in, and enrolling in, confirming, turning off and renewing two-factor authentication. */
export const registerTwoFactorRoutes = (app: App, ctx: AppContext): void => {
  const authGuard = createAuthGuard(ctx);
  // Guessing the password through a stolen session is limited per account (wrong codes have their own limit).
  const actorLimit = perAccountLimit(app, ctx.config.authRateLimitPerAccount, (request) => `id:${request.actor?.account.id ?? '-'}`);
  const ipLimit = perIpLimit(ctx.config.authRateLimitPerIp);

  app.post(
    '/api/v1/auth/login/2fa',
    {
      schema: {
        tags: ['auth'],
        summary: 'Finish a log-in with a code from the authenticator, or a recovery code',
        body: LoginSecondStepRequest,
        response: { 200: LoginResponse, ...errors },
      },
      config: ipLimit,
    },
    async (request, reply) => {
      const client = clientOf(request);
      const { account, token, session, method } = await completeLoginChallenge(ctx, request.body.challenge, { code: request.body.code, recoveryCode: request.body.recoveryCode }, client);
      const mode = request.body.mode ?? 'cookie';
      await ctx.audit.record({ action: 'auth.login', actorId: account.id, sessionId: session.id, detail: { mode, secondFactor: method }, ip: client.ip, userAgent: client.userAgent });
      request.log.info({ accountId: account.id, sessionId: session.id }, 'logged in with a second factor');
      if (mode === 'bearer') return { account: presentAccount(account), session: presentSession(session), token };
      setSessionCookie(reply, ctx.config, token, session.expires_at);
      return { account: presentAccount(account), session: presentSession(session), csrfToken: csrfTokenFor(token) };
    },
  );

  app.get(
    '/api/v1/me/2fa',
    { schema: { tags: ['auth'], summary: 'Whether two-factor authentication is on, and how many recovery codes are left', response: { 200: TwoFactorStatus, 401: ErrorBody } }, preHandler: [authGuard] },
    async (request) => {
      const state = await findTwoFactorState(ctx, actorOf(request).account.id);
      return { enabled: state.enabled, pending: state.pending, recoveryCodesLeft: state.recoveryCodesLeft, ...(state.enabledAt !== null ? { enabledAt: iso(state.enabledAt) } : {}) };
    },
  );

  app.post(
    '/api/v1/me/2fa/setup',
    {
      schema: {
        tags: ['auth'],
        summary: 'Start two-factor setup (current password): a new secret and its otpauth:// URI, pending until confirmed',
        body: TwoFactorSetupRequest,
        response: { 200: TwoFactorSetupResponse, ...errors },
      },
      config: ipLimit,
      preHandler: [authGuard, actorLimit],
    },
    async (request) => {
      const { secret, otpauthUri } = await startTwoFactorSetup(ctx, actorOf(request), request.body.password);
      return { secret, otpauthUri, algorithm: TOTP_ALGORITHM, digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS } as const;
    },
  );

  app.post(
    '/api/v1/me/2fa/enable',
    {
      schema: {
        tags: ['auth'],
        summary: 'Confirm the pending setup with a code; returns the recovery codes, once',
        body: TwoFactorEnableRequest,
        response: { 200: RecoveryCodesResponse, ...errors },
      },
      config: ipLimit,
      preHandler: [authGuard],
    },
    async (request) => enableTwoFactor(ctx, actorOf(request), request.body.code),
  );

  app.post(
    '/api/v1/me/2fa/disable',
    {
      schema: { tags: ['auth'], summary: 'Turn two-factor authentication off (password and a code or recovery code)', body: TwoFactorProofRequest, response: { 204: Type.Null(), ...errors } },
      config: ipLimit,
      preHandler: [authGuard, actorLimit],
    },
    async (request, reply) => {
      await disableTwoFactor(ctx, actorOf(request), request.body.password, { code: request.body.code, recoveryCode: request.body.recoveryCode });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/me/2fa/recovery-codes',
    {
      schema: {
        tags: ['auth'],
        summary: 'Replace the recovery codes (password and a code or recovery code); the new ones are shown once',
        body: TwoFactorProofRequest,
        response: { 200: RecoveryCodesResponse, ...errors },
      },
      config: ipLimit,
      preHandler: [authGuard, actorLimit],
    },
    async (request) => regenerateRecoveryCodes(ctx, actorOf(request), request.body.password, { code: request.body.code, recoveryCode: request.body.recoveryCode }),
  );
};
