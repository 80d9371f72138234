import type { LoginErrorBody, LoginResponse } from '@conclave/protocol';
import { useState } from 'react';
import { api, isApiError } from '../api.ts';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { PasswordField } from '../components/password-field.tsx';
import { useForm } from '../components/use-form.ts';
import { Link, navigate, pathTo, safeNext, useRoute } from '../router.tsx';
import { useSession } from '../session.tsx';
import { AuthLayout } from './auth-layout.tsx';

type Step = { kind: 'password' } | { kind: 'second-factor'; challenge: string } | { kind: 'reset-required'; message: string };

export const LoginScreen = () => {
  const session = useSession();
  const { search } = useRoute();
  const [email, setEmail] = useState(search.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [useRecovery, setUseRecovery] = useState(false);
  const [step, setStep] = useState<Step>({ kind: 'password' });
  const finish = async (answer: LoginResponse) => {
    await session.signedIn(answer);
    navigate(safeNext(search.get('next')), { replace: true });
  };

  const passwordForm = useForm(
    async () => finish(await api<LoginResponse>('POST', '/auth/login', { email, password })),
    {
      handle: (caught) => {
        if (isApiError(caught, 'TWO_FACTOR_REQUIRED')) {
          const challenge = (caught.body as LoginErrorBody).challenge?.token;
          if (challenge) {
            setPassword('');
            setStep({ kind: 'second-factor', challenge });
            return true;
          }
        }
        if (isApiError(caught, 'PASSWORD_RESET_REQUIRED')) {
          setPassword('');
          setStep({ kind: 'reset-required', message: caught.message });
          return true;
        }
        return false;
      },
    },
  );

  const codeForm = useForm(
    async () => {
      if (step.kind !== 'second-factor') return;
      const proof = useRecovery ? { recoveryCode: code.trim() } : { code: code.replace(/\s+/g, '') };
      await finish(await api<LoginResponse>('POST', '/auth/login/2fa', { challenge: step.challenge, ...proof }));
    },
    {
      handle: (caught) => {
        if (isApiError(caught, 'TWO_FACTOR_CHALLENGE_INVALID')) {
          setStep({ kind: 'password' });
          setCode('');
          // Back at the password step, the reason shows there.
          passwordForm.setError(caught.message);
          return true;
        }
        return false;
      },
    },
  );

  if (step.kind === 'reset-required') {
    return (
      <AuthLayout title="Your password must be reset" footer={<Link to={pathTo('login')}>Back to log in</Link>}>
        <FormMessage kind="info">{step.message}</FormMessage>
        <p>
          Your password was right, but it can no longer be used: an administrator or the server&apos;s operator asked everyone concerned to choose a new
          one. Open the link in the mail sent to <strong>{email}</strong> and choose a new password there.
        </p>
        <p>
          No mail? Check your spam folder, or <Link to={`${pathTo('forgotPassword')}?email=${encodeURIComponent(email)}`}>ask for a new link</Link>.
        </p>
      </AuthLayout>
    );
  }

  if (step.kind === 'second-factor') {
    return (
      <AuthLayout title="Two-factor authentication" footer={<button type="button" className="link" onClick={() => setStep({ kind: 'password' })}>Start again</button>}>
        <form onSubmit={codeForm.onSubmit} noValidate>
          <FormMessage>{codeForm.error}</FormMessage>
          {useRecovery ? (
            <Field label="Recovery code" value={code} onChange={setCode} autoComplete="off" spellCheck={false} required hint="One of the codes you saved when you turned two-factor authentication on; each works once." />
          ) : (
            <Field label="Code from your authenticator app" value={code} onChange={setCode} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={7} required autoFocus hint="Six digits; a new one every 30 seconds." />
          )}
          <SubmitButton busy={codeForm.busy}>Verify</SubmitButton>
          <button type="button" className="link" onClick={() => { setUseRecovery((v) => !v); setCode(''); }}>
            {useRecovery ? 'Use a code from the authenticator app' : 'Use a recovery code instead'}
          </button>
        </form>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout
      title="Log in"
      footer={
        <>
          <Link to={`${pathTo('forgotPassword')}${email ? `?email=${encodeURIComponent(email)}` : ''}`}>Forgot your password?</Link>
          <Link to={pathTo('signup')}>Join an instance</Link>
        </>
      }
    >
      {session.setupRequired ? (
        <FormMessage kind="info">
          This server is not set up yet. <Link to={pathTo('setup')}>Set it up</Link> with the token printed when it started.
        </FormMessage>
      ) : null}
      <form onSubmit={passwordForm.onSubmit} noValidate>
        <FormMessage>{passwordForm.error}</FormMessage>
        <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="username" required autoFocus />
        <PasswordField label="Password" value={password} onChange={setPassword} autoComplete="current-password" />
        <SubmitButton busy={passwordForm.busy}>Log in</SubmitButton>
      </form>
    </AuthLayout>
  );
};
