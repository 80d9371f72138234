import {
  AccountParams,
  ErrorBody,
  ForcedResetResponse,
  PasswordResetConfirmRequest,
  PasswordResetConfirmResponse,
  PasswordResetRequest,
  PasswordResetResponse,
} from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { actorOf, clientOf, createAuthGuard } from '../http/auth-guard.ts';
import { bodyEmailKey, perAccountLimit, perIpLimit } from '../http/rate-limits.ts';
import type { App } from '../http/types.ts';
import { emailKeyOf, findAccount } from './account.actions.ts';
import { passwordAdvice } from './password.policy.ts';
import { confirmPasswordReset, forceResetAccount, forceResetEveryone, requestPasswordReset } from './password-reset.actions.ts';
import { assertOperator } from './session.actions.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 410: ErrorBody, 429: ErrorBody };

/** The same body for a known and an unknown email. */
export const RESET_ANSWER = {
  status: 'accepted',
  message: 'If an account has this email, a reset link is on its way to it. The link works once, for a limited time.',
} as const;


/** Ask for a reset link, set a new password with it; operators force resets for anyone or everyone. */
export const registerPasswordResetRoutes = (app: App, ctx: AppContext): void => {
  const authGuard = createAuthGuard(ctx);
  const emailLimit = perAccountLimit(app, ctx.config.resetRateLimitPerEmail, bodyEmailKey((email) => emailKeyOf(ctx, email)));

  app.post(
    '/api/v1/auth/password-reset',
    {
      schema: {
        tags: ['auth'],
        summary: 'Email a reset link; answers the same whether or not the email has an account',
        body: PasswordResetRequest,
        response: { 202: PasswordResetResponse, ...errors },
      },
      config: perIpLimit(ctx.config.resetRateLimitPerIp),
      preHandler: [emailLimit],
    },
    async (request, reply) => {
      await requestPasswordReset(ctx, request.body.email, clientOf(request));
      return reply.code(202).send(RESET_ANSWER);
    },
  );

  app.post(
    '/api/v1/auth/password-reset/confirm',
    {
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with the token of a reset link; ends every session of the account',
        body: PasswordResetConfirmRequest,
        response: { 200: PasswordResetConfirmResponse, ...errors },
      },
      config: perIpLimit(ctx.config.authRateLimitPerIp),
    },
    async (request) => {
      await confirmPasswordReset(ctx, request.body.token, request.body.newPassword, clientOf(request));
      request.log.info('password reset completed');
      const advice = passwordAdvice(request.body.newPassword);
      return { status: 'changed' as const, next: 'login' as const, ...(advice ? { passwordAdvice: advice } : {}) };
    },
  );

  app.post(
    '/api/v1/accounts/:accountId/force-password-reset',
    {
      schema: {
        tags: ['admin'],
        summary: 'Force a password reset for one account (operators): its sessions end and a reset link is mailed to it',
        params: AccountParams,
        response: { 200: ForcedResetResponse, ...errors },
      },
      preHandler: [authGuard],
    },
    async (request) => {
      const actor = actorOf(request);
      assertOperator(actor);
      if (!(await findAccount(ctx, request.params.accountId))) throw new AppError('ACCOUNT_NOT_FOUND', { message: 'No such account.' });
      return forceResetAccount(ctx, request.params.accountId, actor);
    },
  );

  app.post(
    '/api/v1/server/force-password-reset',
    {
      schema: {
        tags: ['admin'],
        summary: 'Force a password reset for every account (operators): every session ends, each person is mailed a reset link',
        response: { 200: ForcedResetResponse, ...errors },
      },
      preHandler: [authGuard],
    },
    async (request) => {
      const actor = actorOf(request);
      assertOperator(actor);
      return forceResetEveryone(ctx, { actor });
    },
  );
};
