import { ErrorBody, SearchQuery, SearchResults } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { actorOf, createAuthGuard } from '../http/auth-guard.ts';
import type { App } from '../http/types.ts';
import { searchMessages } from './search.actions.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody };

export const registerSearchRoutes = (app: App, ctx: AppContext): void => {
  app.get(
    '/api/v1/search',
    {
      schema: {
        tags: ['messages'],
        summary: 'Messages holding every word, newest first, in the rooms you can read (optionally one instance or room)',
        querystring: SearchQuery,
        response: { 200: SearchResults, ...errors },
      },
      preHandler: [createAuthGuard(ctx, { scope: 'read' })],
    },
    async (request) => searchMessages(ctx, actorOf(request), request.query),
  );
};
