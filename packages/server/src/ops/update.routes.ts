import { ErrorBody, UpdateStatus } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { actorOf, createAuthGuard, type App } from '../http/index.ts';

/** Whether an account administers (admin or owner) at least one instance; given by app.ts (instances). */
export type AdminLookup = (accountId: string) => Promise<boolean>;

/**
 * GET /api/v1/server/updates: this node's view of new releases (the newest verified release feed), for the
 * people who act on it: server operators and instance admins. Members are refused with FORBIDDEN; an API
 * token needs the read scope.
 */
export const registerUpdateRoutes = (app: App, ctx: AppContext, isInstanceAdmin: AdminLookup): void => {
  app.get(
    '/api/v1/server/updates',
    {
      schema: {
        tags: ['operations'],
        summary: 'The newest release from the signed release feed, and whether it is a security release (operators and instance admins)',
        response: { 200: UpdateStatus, 401: ErrorBody, 403: ErrorBody },
      },
      preHandler: [createAuthGuard(ctx, { scope: 'read' })],
    },
    async (request) => {
      const actor = actorOf(request);
      if (actor.account.is_operator !== 1 && !(await isInstanceAdmin(actor.account.id))) {
        throw new AppError('FORBIDDEN', { message: 'Only server operators and instance admins see update notices.' });
      }
      return ctx.updates.status();
    },
  );
};
