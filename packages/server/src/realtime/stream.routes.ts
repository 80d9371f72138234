import { ErrorBody } from '@conclave/protocol';
import { STREAM_CLOSE } from '@conclave/protocol';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { readCredentials } from '../http/auth-guard.ts';
import type { App } from '../http/types.ts';
import type { Gateway } from './gateway.ts';


/**
 * GET /api/v1/stream: the WebSocket. Authenticated by `Authorization: Bearer`, by the session cookie (only
 * from our own Origin: a cross-site page must not ride the cookie), or by a first frame {"type":"auth"}.
 * `?since=<seq>` resumes after a reconnect.
 */
export const registerStreamRoutes = (app: App, ctx: AppContext, gateway: Gateway): void => {
  app.get(
    '/api/v1/stream',
    {
      websocket: true,
      schema: {
        tags: ['realtime'],
        summary: 'Realtime events over WebSocket (see packages/protocol/src/events.ts)',
        querystring: Type.Object({ since: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
        response: { 400: ErrorBody },
      },
    },
    (socket, request) => {
      const credentials = readCredentials(request, ctx.config);
      if (credentials.via === 'malformed') {
        socket.close(STREAM_CLOSE.unauthenticated, 'malformed authorization header');
        return;
      }
      const origin = request.headers.origin;
      if (credentials.via === 'cookie' && credentials.token && origin !== undefined && origin !== ctx.config.publicUrl.origin) {
        socket.close(STREAM_CLOSE.policy, 'origin not allowed');
        return;
      }
      const { since } = request.query as { since?: number };
      gateway.attach(socket, { token: credentials.token, since });
    },
  );
};
