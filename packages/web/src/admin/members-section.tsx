import type { ForcedResetResponse, Role } from '@conclave/protocol';
import { useState } from 'react';
import { api, describeError } from '../api.ts';
import { FormMessage } from '../components/form.tsx';
import { Section } from '../components/page-layout.tsx';
import type { Resource } from '../components/use-resource.ts';
import { InviteDialog } from '../chat/sidebar-dialogs.tsx';
import { formatTime } from '../account/format.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';

export interface MemberListing {
  accountId: string;
  displayName: string;
  email?: string;
  role: Role;
  joinedAt: string;
}

type Pending =
  | { kind: 'reset'; member: MemberListing }
  | { kind: 'sessions'; member: MemberListing }
  | { kind: 'remove'; member: MemberListing }
  | { kind: 'reset-everyone' }
  | { kind: 'sessions-everyone' }
  | { kind: 'invite' };

const ROLES: Role[] = ['member', 'admin', 'owner'];
const ROLE_NAMES: Record<Role, string> = { member: 'Member', admin: 'Admin', owner: 'Owner' };

const mailsNote = (answer: ForcedResetResponse): string => (answer.mailsQueued === 1 ? 'a reset link was mailed' : `${answer.mailsQueued} reset links were mailed`);

/** The instance's people: their roles, forced resets, ending their sessions here, invites. */
export const MembersSection = ({
  instance,
  myRole,
  myAccountId,
  members,
}: {
  instance: { id: string; name: string; slug: string };
  myRole: Role;
  myAccountId: string;
  members: Resource<{ members: MemberListing[] }>;
}) => {
  const [pending, setPending] = useState<Pending | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const base = `/instances/${instance.id}`;
  const list = [...(members.data?.members ?? [])].sort((a, b) => a.displayName.localeCompare(b.displayName));
  const close = () => setPending(null);

  const changeRole = (member: MemberListing, role: Role) => {
    setError(null);
    setNotice(null);
    api('PATCH', `${base}/members/${member.accountId}`, { role })
      .then(() => setNotice(`${member.displayName} is now ${ROLE_NAMES[role].toLowerCase()}.`), (caught: unknown) => setError(describeError(caught)))
      .finally(members.reload);
  };
  // Only an owner grants or takes away ownership (the server holds to it as well).
  const rolesFor = (member: MemberListing): Role[] => (myRole === 'owner' ? ROLES : member.role === 'owner' ? [] : ROLES.filter((r) => r !== 'owner'));

  return (
    <Section title="People" description={`Everyone in ${instance.name}. Ending someone’s sessions here logs them out of this instance only; a forced reset also makes them choose a new password.`}>
      <FormMessage>{error ?? members.error}</FormMessage>
      <FormMessage kind="success">{notice}</FormMessage>
      <div className="row section-actions">
        <button type="button" className="primary" onClick={() => setPending({ kind: 'invite' })}>
          Invite people
        </button>
      </div>
      {members.data === undefined && !members.error ? <p className="hint">Loading…</p> : null}
      <ul className="item-list" aria-label={`People in ${instance.name}`}>
        {list.map((member) => {
          const choices = rolesFor(member);
          const isMe = member.accountId === myAccountId;
          return (
            <li key={member.accountId} className="item member">
              <div className="item-main">
                <strong>{member.displayName}</strong>
                {isMe ? <span className="badge muted">You</span> : null}
                <p className="hint">
                  {member.email ? `${member.email} · ` : ''}joined {formatTime(member.joinedAt)}
                </p>
              </div>
              <div className="item-actions">
                <label className="visually-hidden" htmlFor={`role-${member.accountId}`}>
                  Role of {member.displayName}
                </label>
                {choices.length > 0 && !isMe ? (
                  <select id={`role-${member.accountId}`} value={member.role} onChange={(event) => changeRole(member, event.target.value as Role)}>
                    {(choices.includes(member.role) ? choices : [member.role, ...choices]).map((role) => (
                      <option key={role} value={role}>
                        {ROLE_NAMES[role]}
                      </option>
                    ))}
                  </select>
                ) : (
                  <span id={`role-${member.accountId}`} className="role-name">
                    {ROLE_NAMES[member.role]}
                  </span>
                )}
                {isMe ? null : (
                  <>
                    <button type="button" className="small" onClick={() => setPending({ kind: 'sessions', member })} aria-label={`End ${member.displayName}’s sessions`}>
                      End sessions
                    </button>
                    <button type="button" className="small danger" onClick={() => setPending({ kind: 'reset', member })} aria-label={`Force a password reset for ${member.displayName}`}>
                      Force password reset
                    </button>
                    {member.role !== 'owner' || myRole === 'owner' ? (
                      <button type="button" className="small danger" onClick={() => setPending({ kind: 'remove', member })} aria-label={`Remove ${member.displayName} from ${instance.name}`}>
                        Remove
                      </button>
                    ) : null}
                  </>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      <details className="danger-zone">
        <summary>Everyone in {instance.name}</summary>
        <p className="hint">After a suspected compromise: log everyone out of this instance, or make everyone choose a new password (you too).</p>
        <div className="row">
          <button type="button" className="danger" onClick={() => setPending({ kind: 'sessions-everyone' })}>
            End everyone’s sessions
          </button>
          <button type="button" className="danger" onClick={() => setPending({ kind: 'reset-everyone' })}>
            Force a password reset for everyone
          </button>
        </div>
      </details>

      {pending?.kind === 'invite' ? <InviteDialog instanceId={instance.id} slug={instance.slug} onClose={close} /> : null}
      {pending?.kind === 'reset' ? (
        <ConfirmDialog
          title={`Force a password reset for ${pending.member.displayName}?`}
          confirmLabel="Force the reset"
          onClose={close}
          onConfirm={async () => {
            const answer = await api<ForcedResetResponse>('POST', `${base}/members/${pending.member.accountId}/force-password-reset`);
            setNotice(`${pending.member.displayName} is logged out everywhere and must choose a new password; ${mailsNote(answer)}.`);
          }}
        >
          <p>
            Every session of {pending.member.displayName} ends at once, on every device, and their password stops working. They are mailed a link to choose a
            new one.
          </p>
        </ConfirmDialog>
      ) : null}
      {pending?.kind === 'sessions' ? (
        <ConfirmDialog
          title={`End ${pending.member.displayName}’s sessions?`}
          confirmLabel="End the sessions"
          onClose={close}
          onConfirm={async () => {
            await api('POST', `${base}/members/${pending.member.accountId}/sessions/revoke`);
            setNotice(`${pending.member.displayName}’s sessions and API tokens no longer reach ${instance.name}.`);
          }}
        >
          <p>
            {pending.member.displayName} is logged out of {instance.name} on every device, and their API tokens stop working here. Their password stays; they can
            log in again.
          </p>
        </ConfirmDialog>
      ) : null}
      {pending?.kind === 'remove' ? (
        <ConfirmDialog
          title={`Remove ${pending.member.displayName} from ${instance.name}?`}
          confirmLabel="Remove"
          onClose={close}
          onConfirm={async () => {
            await api('DELETE', `${base}/members/${pending.member.accountId}`);
            setNotice(`${pending.member.displayName} is no longer in ${instance.name}.`);
            members.reload();
          }}
        >
          <p>
            {pending.member.displayName} leaves every room of {instance.name} and can no longer open it; their open pages there close. Their account, their other
            instances and their messages stay. An invite brings them back.
          </p>
        </ConfirmDialog>
      ) : null}
      {pending?.kind === 'sessions-everyone' ? (
        <ConfirmDialog
          title={`End every session in ${instance.name}?`}
          confirmLabel="End every session"
          onClose={close}
          onConfirm={async () => {
            await api('POST', `${base}/sessions/revoke`);
            setNotice(`Every session and API token was cut off from ${instance.name}.`);
          }}
        >
          <p>Everyone, you included, is logged out of {instance.name} and must log in again. Passwords stay.</p>
        </ConfirmDialog>
      ) : null}
      {pending?.kind === 'reset-everyone' ? (
        <ConfirmDialog
          title={`Force a password reset for everyone in ${instance.name}?`}
          confirmLabel="Force the reset for everyone"
          onClose={close}
          onConfirm={async () => {
            const answer = await api<ForcedResetResponse>('POST', `${base}/force-password-reset`);
            setNotice(`${answer.accounts} people must choose a new password; ${mailsNote(answer)}.`);
          }}
        >
          <p>Every member, you included, is logged out everywhere and mailed a link to choose a new password.</p>
        </ConfirmDialog>
      ) : null}
    </Section>
  );
};
