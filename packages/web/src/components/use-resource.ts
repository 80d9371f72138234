import { useCallback, useEffect, useState } from 'react';
import { api, describeError, isApiError } from '../api.ts';
import { useSession } from '../session.tsx';

export interface Resource<T> {
  data: T | undefined;
  error: string | null;
  /** Loads it again (after a change the page made). */
  reload(): void;
}

/**
 * A GET of the API for a page: its answer, or the error to show. An UNAUTHENTICATED answer means the session
 * ended elsewhere (a forced reset, an admin, another tab): the client goes back to the log-in page.
 */
export const useResource = <T,>(path: string | null): Resource<T> => {
  const session = useSession();
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const { sessionEnded } = session;

  useEffect(() => {
    if (path === null) return undefined;
    let current = true;
    api<T>('GET', path).then(
      (answer) => {
        if (!current) return;
        setData(answer);
        setError(null);
      },
      (caught: unknown) => {
        if (!current) return;
        if (isApiError(caught, 'UNAUTHENTICATED')) sessionEnded();
        else setError(describeError(caught));
      },
    );
    return () => {
      current = false;
    };
  }, [path, generation, sessionEnded]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { data, error, reload };
};
