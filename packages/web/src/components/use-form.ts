import type { ErrorCode } from '@conclave/protocol';
import { useCallback, useState, type FormEvent } from 'react';
import { describeError, isApiError } from '../api.ts';
import { PASSWORD_PROBLEMS } from '../password-strength.ts';

export interface FormOptions {
  /**
   * A caught error this form explains in its own way (a dead reset link, a second step): return true when
   * handled. Anything else is the form's message, or, in a form with a new password, the server's verdict
   * on it (shown in the meter).
   */
  handle?(caught: unknown): boolean;
  /** The form sets a new password, shown with the strength meter. */
  newPassword?: boolean;
}

export interface Form {
  busy: boolean;
  /** The form-level message (for FormMessage). */
  error: string | null;
  setError(message: string | null): void;
  /** The server's verdict on the new password (PASSWORD_TOO_COMMON…), for PasswordField's serverProblem. */
  passwordProblem: ErrorCode | undefined;
  /** A new password was typed: the server's verdict on the old one no longer applies. */
  clearPasswordProblem(): void;
  /** The form's onSubmit: runs the action once at a time, then sorts out what went wrong. */
  onSubmit(event: FormEvent): void;
}

/** Whether an error is the server refusing a new password (too short, common, like the email…). */
export const passwordProblemOf = (caught: unknown): ErrorCode | undefined =>
  isApiError(caught) && PASSWORD_PROBLEMS.includes(caught.code as ErrorCode) ? (caught.code as ErrorCode) : undefined;

/**
 * The state every form of the client repeats: busy while the request runs, the error it answered, and the
 * server's verdict on a new password shown in the strength meter rather than above the form.
 */
export const useForm = (action: () => Promise<void>, options: FormOptions = {}): Form => {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [passwordProblem, setPasswordProblem] = useState<ErrorCode | undefined>();
  const { handle, newPassword = false } = options;

  const onSubmit = useCallback(
    (event: FormEvent) => {
      event.preventDefault();
      if (busy) return;
      setBusy(true);
      setError(null);
      action().then(
        () => setBusy(false),
        (caught: unknown) => {
          setBusy(false);
          if (handle?.(caught)) return;
          const problem = newPassword ? passwordProblemOf(caught) : undefined;
          if (problem) setPasswordProblem(problem);
          else setError(describeError(caught));
        },
      );
    },
    [action, busy, handle, newPassword],
  );

  const clearPasswordProblem = useCallback(() => setPasswordProblem(undefined), []);
  return { busy, error, setError, passwordProblem, clearPasswordProblem, onSubmit };
};
