import type { LoginResponse } from '@conclave/protocol';
import { useState } from 'react';
import { api } from '../api.ts';
import { FormMessage, SubmitButton } from '../components/form.tsx';
import { Section } from '../components/page-layout.tsx';
import { NewPasswordField, PasswordField } from '../components/password-field.tsx';
import { useForm } from '../components/use-form.ts';
import { useSession, type Me } from '../session.tsx';

/** Change the password: every other session ends, and this one continues under a new session. */
export const PasswordSection = ({ me, onChanged }: { me: Me; onChanged(): void }) => {
  const session = useSession();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [done, setDone] = useState(false);
  const form = useForm(
    async () => {
      setDone(false);
      if (password !== confirmation) throw new Error('The two new passwords are not the same.');
      const answer = await api<LoginResponse>('POST', '/me/password', { currentPassword: current, newPassword: password });
      // The server replaced this session (and its CSRF token): keep the new one.
      await session.signedIn(answer);
      setCurrent('');
      setPassword('');
      setConfirmation('');
      setDone(true);
      onChanged();
    },
    { newPassword: true },
  );
  return (
    <Section title="Password" description="Changing it ends every other session of your account, on every device; this one stays.">
      <form onSubmit={form.onSubmit} noValidate className="narrow-form">
        <FormMessage>{form.error}</FormMessage>
        {done ? <FormMessage kind="success">Your password is changed. Your other sessions were ended.</FormMessage> : null}
        {/* The username field lets password managers file the new password under the right account. */}
        <input type="email" className="visually-hidden" autoComplete="username" value={me.account.email} readOnly tabIndex={-1} aria-hidden="true" />
        <PasswordField label="Current password" value={current} onChange={setCurrent} autoComplete="current-password" />
        <NewPasswordField label="New password" value={password} onChange={setPassword} form={form} context={{ email: me.account.email, displayName: me.account.displayName }} />
        <PasswordField label="The new password again" value={confirmation} onChange={setConfirmation} autoComplete="new-password" />
        <SubmitButton busy={form.busy}>Change the password</SubmitButton>
      </form>
    </Section>
  );
};
