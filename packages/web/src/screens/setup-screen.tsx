import { LIMITS, type LoginResponse } from '@conclave/protocol';
import { useState } from 'react';
import { api } from '../api.ts';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { NewPasswordField } from '../components/password-field.tsx';
import { useForm } from '../components/use-form.ts';
import { Link, navigate, pathTo } from '../router.tsx';
import { useSession } from '../session.tsx';
import { AuthLayout } from './auth-layout.tsx';

/** An instance address from its name: "Acme Corp" → "acme-corp". */
const slugFrom = (name: string): string =>
  name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, LIMITS.instanceSlugMaxLength);

/** First run: the setup token printed at start creates the first instance and its owner (the operator). */
export const SetupScreen = () => {
  const session = useSession();
  const [setupToken, setSetupToken] = useState('');
  const [instanceName, setInstanceName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');

  const form = useForm(async () => {
    const answer = await api<LoginResponse & { instance: { id: string } }>('POST', '/setup', {
      setupToken: setupToken.trim(),
      instance: { slug, name: instanceName.trim() },
      owner: { email: email.trim(), displayName: displayName.trim(), password },
    });
    await session.signedIn(answer);
    navigate(pathTo('instance', { instanceId: answer.instance.id }), { replace: true });
  }, { newPassword: true });

  if (!session.setupRequired && session.status === 'signed-out') {
    return (
      <AuthLayout title="This server is set up" footer={<Link to={pathTo('login')}>Log in</Link>}>
        <p>Its first instance and owner exist already. Log in, or ask an administrator for an invite.</p>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title="Set up Conclave">
      <p>
        Create the first instance (your organization&apos;s space) and its owner. You will be this server&apos;s operator. The setup token was printed in the
        server&apos;s output when it started.
      </p>
      <form onSubmit={form.onSubmit} noValidate>
        <FormMessage>{form.error}</FormMessage>
        <Field label="Setup token" value={setupToken} onChange={setSetupToken} autoComplete="off" spellCheck={false} required autoFocus placeholder="cnv_setup_…" />
        <fieldset>
          <legend>Instance</legend>
          <Field
            label="Name"
            value={instanceName}
            onChange={(value) => {
              setInstanceName(value);
              if (!slugEdited) setSlug(slugFrom(value));
            }}
            maxLength={LIMITS.instanceNameMaxLength}
            required
          />
          <Field
            label="Address"
            value={slug}
            onChange={(value) => {
              setSlugEdited(true);
              setSlug(value.toLowerCase());
            }}
            pattern="[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
            minLength={LIMITS.instanceSlugMinLength}
            maxLength={LIMITS.instanceSlugMaxLength}
            hint="Lower-case letters, digits and hyphens; people name it when they sign up."
            required
          />
        </fieldset>
        <fieldset>
          <legend>You, the owner</legend>
          <Field label="Your name" value={displayName} onChange={setDisplayName} autoComplete="name" maxLength={LIMITS.displayNameMaxLength} required />
          <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="username" required />
          <NewPasswordField
            label="Password"
            value={password}
            onChange={setPassword}
            form={form}
            context={{ email, displayName }}
          />
        </fieldset>
        <SubmitButton busy={form.busy}>Create the instance</SubmitButton>
      </form>
    </AuthLayout>
  );
};
