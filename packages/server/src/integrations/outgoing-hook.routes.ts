import { CreateOutgoingHookRequest, CreateOutgoingHookResponse, ErrorBody, HookDeliveryList, HookDeliveryQuery, LIMITS, OutgoingHookList, RoomHookParams, RoomParams } from '@conclave/protocol';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { actorOf, createAuthGuard } from '../http/auth-guard.ts';
import type { App } from '../http/types.ts';
import { createOutgoingHook, listHookDeliveries, listRoomOutgoingHooks, presentOutgoingHook, revokeOutgoingHook } from './outgoing-hook.actions.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody };

/** Outgoing webhooks: a room's owner or an instance admin subscribes URLs to the room's events (decision 0020). */
export const registerOutgoingHookRoutes = (app: App, ctx: AppContext): void => {
  const managing = { preHandler: [createAuthGuard(ctx, { scope: 'admin' })] };

  app.post(
    '/api/v1/rooms/:roomId/hooks/outgoing',
    {
      schema: {
        tags: ['integrations'],
        summary: 'Subscribe a URL to the room\'s events (messages matching a pattern, people entering or leaving, topic changes, archiving); the signing secret is shown once',
        params: RoomParams,
        body: CreateOutgoingHookRequest,
        response: { 201: CreateOutgoingHookResponse, ...errors },
      },
      ...managing,
    },
    async (request, reply) => {
      const { secret, listing } = await createOutgoingHook(ctx, actorOf(request), request.params.roomId, request.body);
      return reply.code(201).send({ ...presentOutgoingHook(listing), secret });
    },
  );

  app.get(
    '/api/v1/rooms/:roomId/hooks/outgoing',
    { schema: { tags: ['integrations'], summary: 'A room\'s outgoing webhooks (never their secrets)', params: RoomParams, response: { 200: OutgoingHookList, ...errors } }, ...managing },
    async (request) => ({ hooks: (await listRoomOutgoingHooks(ctx, actorOf(request), request.params.roomId)).map(presentOutgoingHook) }),
  );

  app.delete(
    '/api/v1/rooms/:roomId/hooks/outgoing/:hookId',
    { schema: { tags: ['integrations'], summary: 'Revoke an outgoing webhook; nothing more is sent', params: RoomHookParams, response: { 204: Type.Null(), ...errors } }, ...managing },
    async (request, reply) => {
      await revokeOutgoingHook(ctx, actorOf(request), request.params.roomId, request.params.hookId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/rooms/:roomId/hooks/outgoing/:hookId/deliveries',
    {
      schema: { tags: ['integrations'], summary: 'An outgoing webhook\'s delivery log: status, attempts, response code, latency', params: RoomHookParams, querystring: HookDeliveryQuery, response: { 200: HookDeliveryList, ...errors } },
      ...managing,
    },
    async (request) => ({ deliveries: await listHookDeliveries(ctx, actorOf(request), request.params.roomId, request.params.hookId, request.query.limit ?? LIMITS.deliveryLogPageMax) }),
  );
};
