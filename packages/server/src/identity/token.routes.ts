import { ApiTokenList, ApiTokenParams, CreateApiTokenRequest, CreateApiTokenResponse, ErrorBody } from '@conclave/protocol';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { createAuthGuard, sessionActorOf } from '../http/auth-guard.ts';
import type { App } from '../http/types.ts';
import { presentApiToken } from './token.presenter.ts';
import { createApiToken, listApiTokens, revokeApiToken } from './token.actions.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** Personal API tokens: made, listed and revoked from a session only (a token cannot mint or keep others alive). */
export const registerTokenRoutes = (app: App, ctx: AppContext): void => {
  const guarded = { preHandler: [createAuthGuard(ctx)] };

  app.post(
    '/api/v1/me/tokens',
    {
      schema: { tags: ['tokens'], summary: 'Make a personal API token; it is shown once', body: CreateApiTokenRequest, response: { 201: CreateApiTokenResponse, ...errors } },
      ...guarded,
    },
    async (request, reply) => {
      const { token, listing } = await createApiToken(ctx, sessionActorOf(request), request.body);
      return reply.code(201).send({ ...presentApiToken(listing), token });
    },
  );

  app.get(
    '/api/v1/me/tokens',
    { schema: { tags: ['tokens'], summary: 'Your API tokens that still work (never the tokens themselves)', response: { 200: ApiTokenList, ...errors } }, ...guarded },
    async (request) => ({ tokens: (await listApiTokens(ctx, sessionActorOf(request))).map(presentApiToken) }),
  );

  app.delete(
    '/api/v1/me/tokens/:tokenId',
    { schema: { tags: ['tokens'], summary: 'Revoke an API token; its live sockets close', params: ApiTokenParams, response: { 204: Type.Null(), ...errors } }, ...guarded },
    async (request, reply) => {
      await revokeApiToken(ctx, sessionActorOf(request), request.params.tokenId);
      return reply.code(204).send(null);
    },
  );
};
