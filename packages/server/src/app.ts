import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorBody, Health, LIMITS } from '@conclave/protocol';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { AppContext } from './context.ts';
import { checkOrigin, registerErrorHandling, registerJsonBodyParser, registerValidators, sendError, type App } from './http/index.ts';
import { registerIdentityRoutes, registerPasswordResetRoutes, registerSessionRoutes, registerTokenRoutes } from './identity/index.ts';
import { listMembershipsOfAccount, registerInstanceResetRoutes, registerInstanceRoutes } from './instances/index.ts';
import { registerAuditRoutes } from './audit/index.ts';
import { registerIncidentRoutes } from './incidents/index.ts';
import { registerChatRoutes, registerSearchRoutes } from './chat/index.ts';
import { registerFileRoutes } from './files/index.ts';
import { createGateway, registerStreamRoutes } from './realtime/index.ts';
import { registerStatusRoutes } from './incidents/index.ts';
import { registerMetricsRoute, registerUpdateRoutes } from './ops/index.ts';
import { registerWebClient } from './http/web-client.ts';
import { registerBotRoutes, registerIncomingHookRoutes, registerOutgoingHookRoutes } from './integrations/index.ts';

export const API_VERSION = '0.1.0';

export interface BuildAppOptions {
  /** The built web client (index.html and assets/); by default packages/web/dist. */
  webRoot?: string;
}

/** The Fastify app with every route, not listening: tests inject into it, `conclave serve` listens. */
export const buildApp = async (ctx: AppContext, options: BuildAppOptions = {}): Promise<App> => {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    bodyLimit: LIMITS.jsonBodyMaxBytes,
    // A hop count is valid at run time though Fastify's types omit it.
    trustProxy: ctx.config.trustProxy as boolean | string | string[],
    return503OnClosing: true,
    // Two log lines per request at info would be thousands a second on a busy chat server: completion is
    // logged at debug below, errors at their own levels.
    logController: new LogController({ disableRequestLogging: true }),
    // A malformed URL (FST_ERR_BAD_URL) answers in the catalog's shape, not Fastify's.
    frameworkErrors: (_error, _request, reply) => {
      sendError(reply, 'BAD_REQUEST');
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerValidators(app);
  registerJsonBodyParser(app);
  registerErrorHandling(app);
  app.decorateRequest('actor', null);
  app.addHook('onRequest', checkOrigin(ctx.config));
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ req: request, res: reply, responseTimeMs: Math.round(reply.elapsedTime * 10) / 10 }, 'request completed');
    // The route pattern, never the raw URL (unbounded labels); requests no route matched count as 'unmatched'.
    ctx.metrics.observeRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });

  await app.register(helmet, {
    // Strict for the web client as for everything else: scripts and styles only from files of this origin
    // (the client's build has no inline script or style), the stream to this origin. Helmet's default
    // upgrade-insecure-requests would send a plain-http deployment's page to https for its own scripts, so it
    // is set only when PUBLIC_URL is https.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        ...(ctx.config.publicUrl.protocol === 'https:' ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  await app.register(cookie);
  // With Redis, limits (log-in attempts, flood control) hold across nodes.
  await app.register(rateLimit, { global: false, ...(ctx.redis ? { redis: ctx.redis, nameSpace: `${ctx.config.redisPrefix}:rate:` } : {}) });
  await app.register(websocket, { options: { maxPayload: LIMITS.streamFrameMaxBytes } });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Conclave API', version: API_VERSION, description: 'Self-hostable team chat. Errors answer { error: { code, message } } with a stable code.' },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'conclave_session' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
    },
  });

  app.get('/healthz', { schema: { tags: ['operations'], summary: 'The process is alive', response: { 200: Health } } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { schema: { tags: ['operations'], summary: 'The process can serve: its database answers', response: { 200: Health, 503: ErrorBody } } },
    async (_request, reply) => {
      try {
        await ctx.database.ping();
        return { status: 'ready' };
      } catch {
        return sendError(reply, 'SERVICE_UNAVAILABLE', { message: 'The database does not answer.' });
      }
    },
  );

  registerIdentityRoutes(app, ctx, (accountId) => listMembershipsOfAccount(ctx.database.db, accountId));
  registerSessionRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerInstanceRoutes(app, ctx);
  registerPasswordResetRoutes(app, ctx);
  registerInstanceResetRoutes(app, ctx);
  registerChatRoutes(app, ctx);
  registerSearchRoutes(app, ctx);
  registerFileRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerIncidentRoutes(app, ctx);
  registerStatusRoutes(app, ctx);
  registerIncomingHookRoutes(app, ctx);
  registerOutgoingHookRoutes(app, ctx);
  registerBotRoutes(app, ctx);
  const gateway = createGateway(ctx, { authTimeoutMs: ctx.config.streamAuthTimeoutMs, maxBufferedBytes: ctx.config.streamMaxBufferedBytes, nodeId: ctx.nodeId });
  registerStreamRoutes(app, ctx, gateway);
  const untrackSockets = ctx.metrics.trackSockets(() => gateway.connectionCount);
  app.addHook('onClose', async () => {
    untrackSockets();
    await gateway.close();
  });
  registerMetricsRoute(app, ctx);
  registerUpdateRoutes(app, ctx, async (accountId) => (await listMembershipsOfAccount(ctx.database.db, accountId)).some((m) => m.role === 'admin' || m.role === 'owner'));
  app.decorate('gateway', gateway);

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await registerWebClient(app, options.webRoot);
  return app;
};
