import type { LoginResponse, MeResponse } from '@conclave/protocol';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, isApiError, setCsrfToken } from './api.ts';

export type Me = MeResponse;

export interface Session {
  status: 'loading' | 'signed-out' | 'signed-in';
  me: Me | null;
  /** The server awaits its first setup (the setup token printed at start). */
  setupRequired: boolean;
  /** Advice the server gave with the last log-in or password change (a password shorter than advised). */
  advice: string | null;
}

interface SessionApi extends Session {
  /** Reloads /api/v1/me (after log-in, sign-up, setup, joining an instance). */
  refresh(): Promise<Me | null>;
  /** A log-in (or setup) answered: keep its CSRF token, then load who we are. */
  signedIn(answer: Pick<LoginResponse, 'csrfToken' | 'passwordAdvice'>): Promise<Me | null>;
  logOut(): Promise<void>;
  /** The server said the session is over (401 on the stream or the API). */
  sessionEnded(): void;
  dismissAdvice(): void;
}

const SessionContext = createContext<SessionApi | null>(null);

export const SessionProvider = ({ children }: { children: ReactNode }) => {
  const [session, setSession] = useState<Session>({ status: 'loading', me: null, setupRequired: false, advice: null });

  const refresh = useCallback(async (): Promise<Me | null> => {
    try {
      const me = await api<Me>('GET', '/me');
      setCsrfToken(me.csrfToken);
      setSession((s) => ({ ...s, status: 'signed-in', me, setupRequired: false }));
      return me;
    } catch (error) {
      if (!isApiError(error, 'UNAUTHENTICATED')) throw error;
      setCsrfToken(undefined);
      const setup = await api<{ required: boolean }>('GET', '/setup').catch(() => ({ required: false }));
      setSession((s) => ({ ...s, status: 'signed-out', me: null, setupRequired: setup.required }));
      return null;
    }
  }, []);

  useEffect(() => {
    let retry: number | undefined;
    const load = () =>
      refresh().catch(() => {
        // The server is not answering yet: try again shortly rather than show a log-in form that cannot work.
        retry = window.setTimeout(load, 2000);
      });
    void load();
    return () => window.clearTimeout(retry);
  }, [refresh]);

  const sessionEnded = useCallback(() => {
    setCsrfToken(undefined);
    setSession((s) => ({ ...s, status: 'signed-out', me: null }));
  }, []);

  const value = useMemo<SessionApi>(
    () => ({
      ...session,
      refresh,
      async signedIn(answer) {
        setCsrfToken(answer.csrfToken);
        setSession((s) => ({ ...s, advice: answer.passwordAdvice ?? null }));
        return refresh();
      },
      async logOut() {
        await api('POST', '/auth/logout').catch(() => undefined);
        setCsrfToken(undefined);
        setSession((s) => ({ ...s, status: 'signed-out', me: null, advice: null }));
      },
      sessionEnded,
      dismissAdvice() {
        setSession((s) => ({ ...s, advice: null }));
      },
    }),
    [session, refresh, sessionEnded],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
};

export const useSession = (): SessionApi => {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
};
