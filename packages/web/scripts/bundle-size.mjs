#!/usr/bin/env node
// The JavaScript a browser loads before the client can show anything: the entry script of dist/index.html
// and every module it preloads, gzipped (level 9, as a server would send them). Fails over the budget.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const BUDGET_BYTES = 250 * 1024;
const dist = fileURLToPath(new URL('../dist', import.meta.url));

export const measureInitialJs = (root = dist) => {
  const html = readFileSync(join(root, 'index.html'), 'utf8');
  if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html)) throw new Error('index.html holds an inline script: the CSP (script-src \'self\') would block it');
  if (/<style[\s>]|\sstyle=/i.test(html)) throw new Error('index.html holds an inline style: the CSP (style-src \'self\') would block it');
  const files = [
    ...html.matchAll(/<script[^>]*\bsrc="\/([^"]+\.js)"/g),
    ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="\/([^"]+\.js)"/g),
  ].map((match) => match[1]);
  const sizes = files.map((file) => {
    const content = readFileSync(join(root, file));
    return { file, rawBytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
  });
  return { files: sizes, gzipBytes: sizes.reduce((sum, f) => sum + f.gzipBytes, 0), rawBytes: sizes.reduce((sum, f) => sum + f.rawBytes, 0) };
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { files, gzipBytes, rawBytes } = measureInitialJs();
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  for (const f of files) console.log(`  ${f.file}: ${kb(f.rawBytes)}, ${kb(f.gzipBytes)} gzipped`);
  console.log(`initial JavaScript: ${kb(gzipBytes)} gzipped (${kb(rawBytes)} raw); budget ${kb(BUDGET_BYTES)}`);
  if (files.length === 0) {
    console.error('no entry script found in dist/index.html');
    process.exit(1);
  }
  if (gzipBytes > BUDGET_BYTES) {
    console.error(`over budget by ${kb(gzipBytes - BUDGET_BYTES)}: split a page out with import(), or drop a dependency`);
    process.exit(1);
  }
}
