import { useState } from 'react';
import { api, isApiError } from '../api.ts';
import { FormMessage, SubmitButton } from '../components/form.tsx';
import { NewPasswordField, PasswordField } from '../components/password-field.tsx';
import { useForm } from '../components/use-form.ts';
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
  const [done, setDone] = useState<{ advice?: string } | null>(null);
  const [linkProblem, setLinkProblem] = useState<string | null>(null);
  const form = useForm(
    async () => {
      if (password !== confirmation) throw new Error('The two passwords are not the same.');
      const answer = await api<{ passwordAdvice?: string }>('POST', '/auth/password-reset/confirm', { token, newPassword: password });
      // The reset ended every session, this browser's included.
      session.sessionEnded();
      setDone(answer.passwordAdvice ? { advice: answer.passwordAdvice } : {});
    },
    {
      newPassword: true,
      handle: (caught) => {
        if (!isApiError(caught, 'RESET_TOKEN_INVALID', 'RESET_TOKEN_USED', 'RESET_TOKEN_EXPIRED')) return false;
        setLinkProblem(caught.message);
        return true;
      },
    },
  );

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
        <form onSubmit={form.onSubmit} noValidate>
          <FormMessage>{form.error}</FormMessage>
          <NewPasswordField
            label="New password"
            value={password}
            onChange={setPassword}
            form={form}
          />
          <PasswordField label="The same password again" value={confirmation} onChange={setConfirmation} autoComplete="new-password" />
          <SubmitButton busy={form.busy}>Set the new password</SubmitButton>
        </form>
      )}
    </AuthLayout>
  );
};
