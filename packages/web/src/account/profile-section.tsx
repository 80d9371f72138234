import { LIMITS } from '@conclave/protocol';
import { useState } from 'react';
import { api } from '../api.ts';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { Section } from '../components/page-layout.tsx';
import { useForm } from '../components/use-form.ts';
import { useSession, type Me } from '../session.tsx';
import { formatTime } from './format.ts';

/** The name people see: changed here, shown to others when their client next loads the people it knows. */
const DisplayNameForm = ({ me }: { me: Me }) => {
  const session = useSession();
  const [name, setName] = useState(me.account.displayName);
  const [done, setDone] = useState(false);
  const form = useForm(async () => {
    setDone(false);
    await api('PATCH', '/me', { displayName: name });
    await session.refresh();
    setDone(true);
  });
  return (
    <form onSubmit={form.onSubmit} noValidate className="narrow-form">
      <FormMessage>{form.error}</FormMessage>
      {done ? <FormMessage kind="success">Your name is changed.</FormMessage> : null}
      <Field label="Display name" value={name} onChange={setName} autoComplete="name" maxLength={LIMITS.displayNameMaxLength} required />
      <SubmitButton busy={form.busy}>Change the name</SubmitButton>
    </form>
  );
};

const ROLE_NAMES = { owner: 'Owner', admin: 'Admin', member: 'Member' } as const;

/** Who you are on this server, and where. */
export const ProfileSection = ({ me }: { me: Me }) => (
  <Section title="Profile">
    <DisplayNameForm me={me} />
    <dl className="facts">
      <dt>Name</dt>
      <dd>{me.account.displayName}</dd>
      <dt>Email</dt>
      <dd>{me.account.email}</dd>
      <dt>Account created</dt>
      <dd>{formatTime(me.account.createdAt)}</dd>
      <dt>Two-factor authentication</dt>
      <dd>{me.account.twoFactorEnabled ? 'On' : 'Off'}</dd>
      {me.account.isOperator ? (
        <>
          <dt>Server</dt>
          <dd>You are this server&apos;s operator.</dd>
        </>
      ) : null}
    </dl>
    <h3>Your instances</h3>
    {me.instances.length === 0 ? <p className="hint">None yet.</p> : null}
    <ul className="plain-list">
      {me.instances.map((instance) => (
        <li key={instance.id}>
          <strong>{instance.name}</strong> <span className="hint">({instance.slug})</span> · {ROLE_NAMES[instance.role]}
        </li>
      ))}
    </ul>
  </Section>
);
