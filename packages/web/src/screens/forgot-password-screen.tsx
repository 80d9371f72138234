import { useState } from 'react';
import { api } from '../api.ts';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { useForm } from '../components/use-form.ts';
import { Link, pathTo, useRoute } from '../router.tsx';
import { AuthLayout } from './auth-layout.tsx';

export const ForgotPasswordScreen = () => {
  const { search } = useRoute();
  const [email, setEmail] = useState(search.get('email') ?? '');
  const [sent, setSent] = useState<string | null>(null);
  const form = useForm(async () => {
    const answer = await api<{ message: string }>('POST', '/auth/password-reset', { email: email.trim() });
    setSent(answer.message);
  });

  return (
    <AuthLayout title="Forgot your password?" footer={<Link to={pathTo('login')}>Back to log in</Link>}>
      {sent ? (
        <>
          <FormMessage kind="success">{sent}</FormMessage>
          <p>Open the link in the mail on this device. It can be used once; if it expired, ask for a new one here.</p>
        </>
      ) : (
        <form onSubmit={form.onSubmit} noValidate>
          <p>Enter your account&apos;s email and we will send a link to choose a new password.</p>
          <FormMessage>{form.error}</FormMessage>
          <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="username" required autoFocus />
          <SubmitButton busy={form.busy}>Send the reset link</SubmitButton>
        </form>
      )}
    </AuthLayout>
  );
};
