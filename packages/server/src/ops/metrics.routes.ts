import { createServer, type Server } from 'node:http';
import type { AppContext } from '../context.ts';
import { sendError, type App } from '../http/index.ts';
import { isMetricsTokenValid } from './metrics.ts';

/**
 * GET /metrics on the main port, only when METRICS_TOKEN is set, and only with `Authorization: Bearer
 * <METRICS_TOKEN>`: the metrics say how busy the server is and when it logs people in, nothing more, but
 * that is not for the public.
 */
export const registerMetricsRoute = (app: App, ctx: AppContext): void => {
  const token = ctx.config.metricsToken;
  if (token === undefined) return;
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!isMetricsTokenValid(request.headers.authorization, token)) return sendError(reply, 'UNAUTHENTICATED', { message: 'Send Authorization: Bearer <METRICS_TOKEN>.' });
    const body = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });
};

/**
 * The metrics on a port of their own (METRICS_PORT, bound to METRICS_HOST: 127.0.0.1 unless told otherwise),
 * for a Prometheus on the same host or network, apart from the public port. METRICS_TOKEN, when set, is
 * required here too.
 */
export const startMetricsServer = async (ctx: AppContext, options: { host: string; port: number }): Promise<{ url: string; close(): Promise<void> }> => {
  const token = ctx.config.metricsToken;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Only GET /metrics is served here.\n');
      return;
    }
    if (token !== undefined && !isMetricsTokenValid(request.headers.authorization, token)) {
      response.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' }).end('Send Authorization: Bearer <METRICS_TOKEN>.\n');
      return;
    }
    ctx.metrics.registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': ctx.metrics.registry.contentType, 'cache-control': 'no-store' }).end(body),
      (error: unknown) => {
        ctx.log.error({ err: error }, 'metrics could not be rendered');
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics could not be rendered; see the server log.\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
