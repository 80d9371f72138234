import { useCallback } from 'react';
import { describeError, isApiError } from '../api.ts';
import { useSession } from '../session.tsx';

/** What to show for a failed call; a session that ended sends the operator to the log-in page. */
export const useDescribeError = (): ((error: unknown) => string) => {
  const session = useSession();
  return useCallback(
    (error: unknown) => {
      if (isApiError(error, 'UNAUTHENTICATED')) session.sessionEnded();
      return describeError(error);
    },
    [session],
  );
};
