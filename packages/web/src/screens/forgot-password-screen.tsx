import { useState, type FormEvent } from 'react';
import { api, describeError } from '../api.ts';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { Link, pathTo, useRoute } from '../router.tsx';
import { AuthLayout } from './auth-layout.tsx';

export const ForgotPasswordScreen = () => {
  const { search } = useRoute();
  const [email, setEmail] = useState(search.get('email') ?? '');
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api<{ message: string }>('POST', '/auth/password-reset', { email: email.trim() });
      setSent(answer.message);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthLayout title="Forgot your password?" footer={<Link to={pathTo('login')}>Back to log in</Link>}>
      {sent ? (
        <>
          <FormMessage kind="success">{sent}</FormMessage>
          <p>Open the link in the mail on this device. It can be used once; if it expired, ask for a new one here.</p>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <p>Enter your account&apos;s email and we will send a link to choose a new password.</p>
          <FormMessage>{error}</FormMessage>
          <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="username" required autoFocus />
          <SubmitButton busy={busy}>Send the reset link</SubmitButton>
        </form>
      )}
    </AuthLayout>
  );
};
