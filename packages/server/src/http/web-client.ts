import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { WEB_ROUTES } from '@conclave/protocol';
import type { FastifyReply } from 'fastify';
import type { App } from './types.ts';

/** Where `npm run build -w packages/web` writes the client (index.html and hashed files under assets/). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/** Shown at every client page while the client is not built: the API, the stream and /status still work. */
const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Conclave: the web client is not built</title></head>
<body>
<h1>The web client is not built</h1>
<p>Conclave's server is running and its API answers under <code>/api/v1</code>, but the web client has not been built.</p>
<p>Build it with <code>npm run build -w packages/web</code> (<code>npm install</code> and <code>npm start</code> do it for you), then reload this page.</p>
</body>
</html>
`;

/**
 * Serves the web client: its hashed files under /assets/ (cached for good: their names change with their
 * content) and index.html at each page of WEB_ROUTES (never cached, so a new build is picked up at once).
 * Only those pages are the client's: /api/*, /status*, the stream and unknown paths answer as before.
 * Without a build, the pages answer 503 with a page that says how to build it.
 */
export const registerWebClient = async (app: App, root: string = DEFAULT_WEB_ROOT): Promise<void> => {
  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/assets/',
    // Absent until the client is built; the pages below say so, and files appear once it is built.
    suppressWarning: !existsSync(join(root, 'assets')),
    // The files as built: no directory listings, no index files, no dotfiles.
    index: false,
    decorateReply: false,
    list: false,
    dotfiles: 'deny',
    cacheControl: false,
    setHeaders: (reply) => {
      reply.header('cache-control', 'public, max-age=31536000, immutable');
    },
  });

  const sendIndex = async (_request: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    // Read each time (a small file): a rebuild replaces the hashed names it points to.
    const index = await readFile(join(root, 'index.html'), 'utf8').catch(() => undefined);
    reply.header('cache-control', 'no-cache');
    if (index === undefined) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    return reply.type('text/html; charset=utf-8').send(index);
  };
  for (const path of Object.values(WEB_ROUTES)) app.get(path, { schema: { hide: true } }, sendIndex);
};
