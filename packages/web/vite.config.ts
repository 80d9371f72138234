import { defineConfig } from 'vite';

/**
 * The client is served by Conclave under a strict Content-Security-Policy (script-src and style-src 'self'):
 * the build must hold no inline script or style. Vite's module-preload polyfill is an inline script, so it is
 * off (every browser the client supports preloads modules natively).
 */
export const config = defineConfig({
  // JSX with React's automatic runtime, compiled by Vite's own transformer: no Babel, no plugin needed.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    target: 'es2022',
    modulePreload: { polyfill: false },
    // Small assets would otherwise become data: URLs inside the CSS or JS; files are simpler to reason about.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev -w packages/web` beside `npm start`: the API and the stream go to the server.
    proxy: {
      // The server refuses writes from a foreign Origin: the proxy presents the server's own.
      '/api': { target: 'http://localhost:8080', ws: true, headers: { origin: 'http://localhost:8080' } },
    },
  },
});

// Vite reads the default export of its config file; this is the one place the repository allows one.
export default config;
