import { LIMITS, type LoginResponse } from '@conclave/protocol';
import { useState } from 'react';
import { api } from '../api.ts';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { NewPasswordField } from '../components/password-field.tsx';
import { useForm } from '../components/use-form.ts';
import { Link, navigate, pathTo, useRoute } from '../router.tsx';
import { useSession } from '../session.tsx';
import { AuthLayout } from './auth-layout.tsx';

/** The invite token travels in the fragment (#invite=…) so it reaches no server log; read it once. */
const takeInviteFromFragment = (): string => {
  const invite = new URLSearchParams(window.location.hash.slice(1)).get('invite') ?? '';
  if (invite) window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}`);
  return invite;
};

export const SignupScreen = () => {
  const session = useSession();
  const { search } = useRoute();
  const [inviteToken] = useState(takeInviteFromFragment);
  const [instance, setInstance] = useState(search.get('instance') ?? '');
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');

  const form = useForm(async () => {
    await api('POST', '/auth/signup', {
      email: email.trim(),
      password,
      displayName: displayName.trim(),
      instance: instance.trim(),
      ...(inviteToken ? { inviteToken } : {}),
    });
    // Sign-up answers alike whether or not the email had an account: logging in with this password tells.
    try {
      await session.signedIn(await api<LoginResponse>('POST', '/auth/login', { email: email.trim(), password }));
      navigate(pathTo('home'), { replace: true });
    } catch {
      navigate(`${pathTo('login')}?email=${encodeURIComponent(email.trim())}`, { replace: true });
    }
  }, { newPassword: true });

  return (
    <AuthLayout title="Join an instance" footer={<Link to={pathTo('login')}>Already have an account? Log in</Link>}>
      {inviteToken ? <FormMessage kind="info">You were invited: this link lets you join even an invite-only instance.</FormMessage> : null}
      <form onSubmit={form.onSubmit} noValidate>
        <FormMessage>{form.error}</FormMessage>
        <Field
          label="Instance address"
          value={instance}
          onChange={(value) => setInstance(value.toLowerCase())}
          maxLength={LIMITS.instanceSlugMaxLength}
          hint="The short name of the organization's space, such as acme."
          required
          autoFocus={!instance}
        />
        <Field label="Your name" value={displayName} onChange={setDisplayName} autoComplete="name" maxLength={LIMITS.displayNameMaxLength} required autoFocus={Boolean(instance)} />
        <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="username" required />
        <NewPasswordField
          label="Password"
          value={password}
          onChange={setPassword}
          form={form}
          context={{ email, displayName }}
        />
        <p className="hint">Already have a Conclave account on this server? Use its email and password to add this instance to it.</p>
        <SubmitButton busy={form.busy}>Join</SubmitButton>
      </form>
    </AuthLayout>
  );
};
