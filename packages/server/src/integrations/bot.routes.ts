import { BotList, BotParams, CreateBotRequest, CreateBotResponse, ErrorBody, InstanceParams } from '@conclave/protocol';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { actorOf, createAuthGuard } from '../http/auth-guard.ts';
import type { App } from '../http/types.ts';
import { createBot, listBots, removeBot } from './bot.actions.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** Bots (decision 0020): an instance admin makes, lists and removes them; a bot acts with its API token. */
export const registerBotRoutes = (app: App, ctx: AppContext): void => {
  const managing = { preHandler: [createAuthGuard(ctx, { scope: 'admin' })] };

  app.post(
    '/api/v1/instances/:instanceId/bots',
    { schema: { tags: ['integrations'], summary: 'Make a bot and its API token (shown once), with the scopes asked (admins)', params: InstanceParams, body: CreateBotRequest, response: { 201: CreateBotResponse, ...errors } }, ...managing },
    async (request, reply) => reply.code(201).send(await createBot(ctx, actorOf(request), request.params.instanceId, request.body)),
  );

  app.get(
    '/api/v1/instances/:instanceId/bots',
    { schema: { tags: ['integrations'], summary: 'The instance\'s bots (admins)', params: InstanceParams, response: { 200: BotList, ...errors } }, ...managing },
    async (request) => ({ bots: await listBots(ctx, actorOf(request), request.params.instanceId) }),
  );

  app.delete(
    '/api/v1/instances/:instanceId/bots/:botId',
    { schema: { tags: ['integrations'], summary: 'Remove a bot: its tokens die and its sockets close at once', params: BotParams, response: { 204: Type.Null(), ...errors } }, ...managing },
    async (request, reply) => {
      await removeBot(ctx, actorOf(request), request.params.instanceId, request.params.botId);
      return reply.code(204).send(null);
    },
  );
};
