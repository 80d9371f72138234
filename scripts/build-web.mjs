#!/usr/bin/env node
// Builds the web client (packages/web → packages/web/dist), which the server serves at /.
// Run by `npm install`/`npm ci` (prepare) and, with --if-missing, by `npm start` when no build exists.
// Without Vite (an install that omitted dev dependencies) it says so and leaves the server to explain.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const web = join(root, 'packages', 'web');

if (process.argv.includes('--if-missing') && existsSync(join(web, 'dist', 'index.html'))) process.exit(0);

let vite;
try {
  vite = join(createRequire(join(web, 'package.json')).resolve('vite/package.json'), '..', 'bin', 'vite.js');
} catch {
  console.log('# web client not built: Vite is not installed (dev dependencies omitted?). Run npm install, then npm run build.');
  process.exit(0);
}

const started = Date.now();
const build = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: web, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const size = spawnSync(process.execPath, [join(web, 'scripts', 'bundle-size.mjs')], { cwd: web, stdio: 'inherit' });
if (size.status !== 0) process.exit(size.status ?? 1);
console.log(`# web client built in ${((Date.now() - started) / 1000).toFixed(1)} s into packages/web/dist`);
