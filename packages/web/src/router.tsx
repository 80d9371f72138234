import { WEB_ROUTES, type WebRoute } from '@conclave/protocol';
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

/**
 * A router of a few lines over the History API. The pages are WEB_ROUTES from the protocol, the list the
 * server also answers with index.html, so every page here survives a reload.
 */
export interface RouteMatch {
  route: WebRoute | null;
  params: Record<string, string>;
  path: string;
  search: URLSearchParams;
}

const compiled = (Object.entries(WEB_ROUTES) as Array<[WebRoute, string]>).map(([route, pattern]) => {
  const names: string[] = [];
  const source = pattern.replace(/:([A-Za-z]+)/g, (_all, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, names, regex: new RegExp(`^${source}/?$`) };
});

export const matchPath = (path: string): { route: WebRoute | null; params: Record<string, string> } => {
  for (const { route, names, regex } of compiled) {
    const found = regex.exec(path);
    if (!found) continue;
    const params: Record<string, string> = {};
    names.forEach((name, i) => {
      params[name] = decodeURIComponent(found[i + 1] ?? '');
    });
    return { route, params };
  }
  return { route: null, params: {} };
};

/** The path of a page: pathTo('room', { roomId }) → /rooms/… */
export const pathTo = (route: WebRoute, params: Record<string, string> = {}): string =>
  WEB_ROUTES[route].replace(/:([A-Za-z]+)/g, (_all, name: string) => encodeURIComponent(params[name] ?? ''));

/** A page of this client to go to after logging in; anything else (another site) becomes home. */
export const safeNext = (next: string | null): string => (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/');

const NAVIGATE = 'conclave:navigate';

export const navigate = (to: string, options: { replace?: boolean } = {}): void => {
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATE));
};

const subscribe = (onChange: () => void): (() => void) => {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE, onChange);
  };
};

let cached: { key: string; match: RouteMatch } | undefined;
const current = (): RouteMatch => {
  const key = `${window.location.pathname}${window.location.search}`;
  if (cached?.key !== key) {
    const { route, params } = matchPath(window.location.pathname);
    cached = { key, match: { route, params, path: window.location.pathname, search: new URLSearchParams(window.location.search) } };
  }
  return cached.match;
};

export const useRoute = (): RouteMatch => useSyncExternalStore(subscribe, current);

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string; children: ReactNode };

/** An ordinary link (open in a new tab works) that navigates in place on a plain click. */
export const Link = ({ to, children, onClick, ...rest }: LinkProps) => {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={follow} {...rest}>
      {children}
    </a>
  );
};
