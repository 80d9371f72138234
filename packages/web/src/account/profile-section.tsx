import { Section } from '../components/page-layout.tsx';
import type { Me } from '../session.tsx';
import { formatTime } from './format.ts';

const ROLE_NAMES = { owner: 'Owner', admin: 'Admin', member: 'Member' } as const;

/** Who you are on this server, and where. */
export const ProfileSection = ({ me }: { me: Me }) => (
  <Section title="Profile">
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
