import {
  CreateIncomingHookRequest,
  CreateIncomingHookResponse,
  ERROR_CATALOG,
  ErrorBody,
  HipChatParams,
  HipChatQuery,
  IncomingHookList,
  LIMITS,
  RoomHookParams,
  RoomParams,
  SlackHookParams,
  type ErrorCode,
} from '@conclave/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { actorOf, clientOf, createAuthGuard } from '../http/auth-guard.ts';
import { handleError, parseJsonBody, type App } from '../http/index.ts';
import { renderHipChatPayload, renderSlackPayload } from './hook.render.ts';
import { createIncomingHook, findLiveHook, listRoomIncomingHooks, postThroughHook, presentIncomingHook, revokeIncomingHook } from './incoming-hook.actions.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody };

/** The answers Slack's incoming webhooks give (text/plain), which tools written for Slack look for. */
const SLACK_ERRORS: Partial<Record<ErrorCode, string>> = {
  HOOK_INVALID_PAYLOAD: 'invalid_payload',
  MALFORMED_JSON: 'invalid_payload',
  EMPTY_BODY: 'invalid_payload',
  INVALID_UTF8: 'invalid_payload',
  BAD_REQUEST: 'invalid_payload',
  VALIDATION_FAILED: 'invalid_payload',
  UNSUPPORTED_MEDIA_TYPE: 'invalid_payload',
  HOOK_NO_TEXT: 'no_text',
  HOOK_NOT_FOUND: 'no_service',
  HOOK_REVOKED: 'invalid_token',
  UNAUTHENTICATED: 'invalid_token',
  ROOM_NOT_FOUND: 'channel_not_found',
  ROOM_ARCHIVED: 'channel_is_archived',
  NOT_ROOM_MEMBER: 'action_prohibited',
  HOOK_RATE_LIMITED: 'rate_limited',
  PAYLOAD_TOO_LARGE: 'msg_too_long',
  HOOK_PAYLOAD_TOO_LARGE: 'msg_too_long',
};

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
};

/** The catalog code of a refusal; undefined for a failure of ours (left to the common handler: logged, 500). */
const refusalCode = (error: Error): ErrorCode | undefined => {
  if (error instanceof AppError) return error.code;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) return 'VALIDATION_FAILED';
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return mapped;
  const status = fastifyError.statusCode ?? 500;
  return status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status >= 400 && status < 500 ? 'BAD_REQUEST' : undefined;
};

/**
 * Slack's way of refusing: the status, and a short text/plain reason (`invalid_payload`, `no_text`…). The
 * catalog code rides in X-Conclave-Error for those who read it.
 */
const slackErrorHandler = (error: Error, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
  const code = refusalCode(error);
  if (code === undefined) return handleError(error, request, reply);
  if (error instanceof AppError && error.headers) for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply
    .code(ERROR_CATALOG[code].status)
    .header('x-conclave-error', code)
    .type('text/plain; charset=utf-8')
    .send(SLACK_ERRORS[code] ?? 'invalid_payload');
};

const BEARER = /^Bearer ([A-Za-z0-9_-]{1,200})$/;

export const registerIncomingHookRoutes = (app: App, ctx: AppContext): void => {
  // Managing hooks: a room's owner or an instance admin; with an API token, the admin scope.
  const managing = { preHandler: [createAuthGuard(ctx, { scope: 'admin' })] };
  const publicUrl = ctx.config.publicUrl.href.replace(/\/$/, '');

  app.post(
    '/api/v1/rooms/:roomId/hooks/incoming',
    {
      schema: { tags: ['integrations'], summary: 'Make an incoming webhook for a room (owner or admin); its URL is shown once', params: RoomParams, body: CreateIncomingHookRequest, response: { 201: CreateIncomingHookResponse, ...errors } },
      ...managing,
    },
    async (request, reply) => {
      const { token, listing } = await createIncomingHook(ctx, actorOf(request), request.params.roomId, request.body);
      return reply.code(201).send({ ...presentIncomingHook(listing), token, url: `${publicUrl}/hooks/incoming/${token}`, hipchatUrl: `${publicUrl}/v2/room/${listing.row.room_id}/notification` });
    },
  );

  app.get(
    '/api/v1/rooms/:roomId/hooks/incoming',
    { schema: { tags: ['integrations'], summary: 'A room\'s incoming webhooks (never their URLs)', params: RoomParams, response: { 200: IncomingHookList, ...errors } }, ...managing },
    async (request) => ({ hooks: (await listRoomIncomingHooks(ctx, actorOf(request), request.params.roomId)).map(presentIncomingHook) }),
  );

  app.delete(
    '/api/v1/rooms/:roomId/hooks/incoming/:hookId',
    { schema: { tags: ['integrations'], summary: 'Revoke an incoming webhook; its URL answers 410 from now on', params: RoomHookParams, response: { 204: Type.Null(), ...errors } }, ...managing },
    async (request, reply) => {
      await revokeIncomingHook(ctx, actorOf(request), request.params.roomId, request.params.hookId);
      return reply.code(204).send(null);
    },
  );

  // Per hook, after Slack's one message a second (with bursts): more answer 429 rate_limited.
  const hookIds = new WeakMap<FastifyRequest, string>();
  const hookRate = app.createRateLimit({
    max: ctx.config.webhookRateLimit.max,
    timeWindow: ctx.config.webhookRateLimit.windowMs,
    keyGenerator: (request: FastifyRequest) => `hook:${hookIds.get(request) ?? '-'}`,
  });
  const limitHook = async (request: FastifyRequest, hookId: string): Promise<void> => {
    hookIds.set(request, hookId);
    const result = await hookRate(request);
    if (!result.isAllowed && result.isExceeded) throw new AppError('HOOK_RATE_LIMITED', { headers: { 'retry-after': String(result.ttlInSeconds) } });
  };

  // The posting endpoints take what other systems' tools send: Slack's JSON, or its form with a payload field.
  void app.register(async (scope: FastifyInstance) => {
    scope.addContentTypeParser(/^application\/x-www-form-urlencoded(\s*;\s*charset="?utf-8"?)?$/i, { parseAs: 'buffer' }, (_request, body, done) => {
      try {
        const payload = new URLSearchParams((body as Buffer).toString('utf8')).get('payload');
        if (payload === null) throw new AppError('HOOK_INVALID_PAYLOAD', { message: 'A form post carries the message as JSON in a field named payload.' });
        done(null, parseJsonBody(Buffer.from(payload, 'utf8')));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    const typed = scope as unknown as App;

    typed.post(
      '/hooks/incoming/:token',
      {
        schema: { tags: ['integrations'], summary: 'Slack-compatible incoming webhook: post a Slack message payload; answers ok (text/plain)', params: SlackHookParams },
        bodyLimit: LIMITS.hookPayloadMaxBytes,
        errorHandler: slackErrorHandler,
      },
      async (request, reply) => {
        const hook = await findLiveHook(ctx, request.params.token);
        await limitHook(request, hook.id);
        const post = renderSlackPayload(request.body);
        await postThroughHook(ctx, hook, post, clientOf(request));
        return reply.code(200).type('text/plain; charset=utf-8').send('ok');
      },
    );

    typed.post(
      '/v2/room/:room/notification',
      {
        schema: {
          tags: ['integrations'],
          summary: 'HipChat-compatible room notification (message, message_format html|text, color, notify, from); Authorization: Bearer <hook token> or ?auth_token=; answers 204',
          params: HipChatParams,
          querystring: HipChatQuery,
          response: { 204: Type.Null(), ...errors, 410: ErrorBody, 413: ErrorBody },
        },
        bodyLimit: LIMITS.hookPayloadMaxBytes,
      },
      async (request, reply) => {
        const header = request.headers.authorization;
        const token = header !== undefined ? BEARER.exec(header)?.[1] : request.query.auth_token;
        if (token === undefined) throw new AppError('UNAUTHENTICATED', { message: 'Send the room token as Authorization: Bearer <token>, or as ?auth_token=.' });
        const hook = await findLiveHook(ctx, token);
        // HipChat addressed rooms by id (or name); a token works only for its own room.
        if (request.params.room !== hook.room_id) throw new AppError('ROOM_NOT_FOUND');
        await limitHook(request, hook.id);
        const post = renderHipChatPayload(request.body);
        await postThroughHook(ctx, hook, post, clientOf(request));
        return reply.code(204).send(null);
      },
    );
  });
};
