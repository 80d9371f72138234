import type { ErrorCode } from '@conclave/protocol';
import { useState, type FormEvent } from 'react';
import { api, describeError, isApiError } from '../api.ts';
import { FormMessage, SubmitButton } from '../components/form.tsx';
import { PasswordField } from '../components/password-field.tsx';
import { PASSWORD_PROBLEMS } from '../password-strength.ts';
import { Link, pathTo } from '../router.tsx';
import { useSession } from '../session.tsx';
import { AuthLayout } from './auth-layout.tsx';

/**
 * The reset mail links to /reset-password#token=cnv_r_…: the token is in the fragment, which browsers never
 * send, and it is taken out of the address bar at once so it stays in no history entry.
 */
const takeTokenFromFragment = (): string => {
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
  if (window.location.hash) window.history.replaceState(null, '', window.location.pathname);
  return token;
};

export const ResetPasswordScreen = () => {
  const session = useSession();
  const [token] = useState(takeTokenFromFragment);
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [passwordProblem, setPasswordProblem] = useState<ErrorCode | undefined>();
  const [done, setDone] = useState<{ advice?: string } | null>(null);
  const [linkProblem, setLinkProblem] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (!token && !done) {
    return (
      <AuthLayout title="Reset your password" footer={<Link to={pathTo('login')}>Back to log in</Link>}>
        <FormMessage>This page needs the whole link from the reset mail, including the part after #token=.</FormMessage>
        <p>
          Copy the complete link from the mail, or <Link to={pathTo('forgotPassword')}>ask for a new one</Link>.
        </p>
      </AuthLayout>
    );
  }

  if (done) {
    return (
      <AuthLayout title="Your password is changed" footer={null}>
        <FormMessage kind="success">Your new password is set. Every session of your account was ended, on every device: log in again with it.</FormMessage>
        {done.advice ? <p className="hint">{done.advice}</p> : null}
        <p>
          <Link className="button primary" to={pathTo('login')}>
            Log in
          </Link>
        </p>
      </AuthLayout>
    );
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    if (password !== confirmation) {
      setError('The two passwords are not the same.');
      return;
    }
    setBusy(true);
    try {
      const answer = await api<{ passwordAdvice?: string }>('POST', '/auth/password-reset/confirm', { token, newPassword: password });
      // The reset ended every session, this browser's included.
      session.sessionEnded();
      setDone(answer.passwordAdvice ? { advice: answer.passwordAdvice } : {});
    } catch (caught) {
      if (isApiError(caught, 'RESET_TOKEN_INVALID', 'RESET_TOKEN_USED', 'RESET_TOKEN_EXPIRED')) setLinkProblem(caught.message);
      else if (isApiError(caught) && PASSWORD_PROBLEMS.includes(caught.code as ErrorCode)) setPasswordProblem(caught.code as ErrorCode);
      else setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthLayout title="Choose a new password" footer={<Link to={pathTo('login')}>Back to log in</Link>}>
      {linkProblem ? (
        <>
          <FormMessage>{linkProblem}</FormMessage>
          <p>
            <Link to={pathTo('forgotPassword')}>Ask for a new reset link</Link>
          </p>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <FormMessage>{error}</FormMessage>
          <PasswordField
            label="New password"
            value={password}
            onChange={(value) => {
              setPassword(value);
              setPasswordProblem(undefined);
            }}
            meter
            serverProblem={passwordProblem}
            autoComplete="new-password"
          />
          <PasswordField label="The same password again" value={confirmation} onChange={setConfirmation} autoComplete="new-password" />
          <SubmitButton busy={busy}>Set the new password</SubmitButton>
        </form>
      )}
    </AuthLayout>
  );
};
