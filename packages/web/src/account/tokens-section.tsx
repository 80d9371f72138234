import { LIMITS, TOKEN_SCOPES, type ApiToken, type TokenScope } from '@conclave/protocol';
import { useState } from 'react';
import { api, describeError } from '../api.ts';
import { CopyButton } from '../components/copy-button.tsx';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { Section } from '../components/page-layout.tsx';
import { useForm } from '../components/use-form.ts';
import type { Resource } from '../components/use-resource.ts';
import { formatTime } from './format.ts';

const SCOPE_HELP: Record<TokenScope, string> = {
  read: 'Read: rooms, messages, search and the live stream',
  write: 'Write: post, edit and react; join and manage rooms',
  admin: 'Admin: administer the instances you administer (people, invites, the access report)',
};

const EXPIRY_CHOICES = [
  { days: 30, label: '30 days' },
  { days: 90, label: '90 days' },
  { days: LIMITS.apiTokenMaxDays, label: 'A year' },
  { days: 0, label: 'Never (until revoked)' },
] as const;

const CreateTokenForm = ({ onCreated }: { onCreated(token: string, name: string): void }) => {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<TokenScope[]>(['read']);
  const [days, setDays] = useState<number>(90);
  const form = useForm(async () => {
    if (scopes.length === 0) throw new Error('Choose at least one thing the token may do.');
    const created = await api<ApiToken & { token: string }>('POST', '/me/tokens', { name: name.trim(), scopes, ...(days > 0 ? { expiresInDays: days } : {}) });
    setName('');
    onCreated(created.token, created.name);
  });
  const toggle = (scope: TokenScope, on: boolean) => setScopes((now) => (on ? TOKEN_SCOPES.filter((s) => s === scope || now.includes(s)) : now.filter((s) => s !== scope)));
  return (
    <form onSubmit={form.onSubmit} noValidate className="narrow-form">
      <FormMessage>{form.error}</FormMessage>
      <Field label="Token name" value={name} onChange={setName} maxLength={LIMITS.apiTokenNameMaxLength} required hint="What it is for, such as “deploy bot”." />
      <fieldset className="choices">
        <legend>What it may do</legend>
        {TOKEN_SCOPES.map((scope) => (
          <label key={scope}>
            <input type="checkbox" checked={scopes.includes(scope)} onChange={(event) => toggle(scope, event.target.checked)} /> {SCOPE_HELP[scope]}
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor="token-expiry">Expires after</label>
        <select id="token-expiry" value={days} onChange={(event) => setDays(Number(event.target.value))}>
          {EXPIRY_CHOICES.map((choice) => (
            <option key={choice.days} value={choice.days}>
              {choice.label}
            </option>
          ))}
        </select>
      </div>
      <SubmitButton busy={form.busy}>Create the token</SubmitButton>
    </form>
  );
};

/** Personal API tokens: made with scopes, shown once, listed, revoked. */
export const TokensSection = ({ tokens }: { tokens: Resource<{ tokens: ApiToken[] }> }) => {
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const list = tokens.data?.tokens;

  const revoke = (token: ApiToken) => {
    setError(null);
    setNotice(null);
    api('DELETE', `/me/tokens/${token.id}`)
      .then(() => setNotice(`The token “${token.name}” is revoked.`), (caught: unknown) => setError(describeError(caught)))
      .finally(tokens.reload);
  };

  return (
    <Section
      title="API tokens"
      description="For scripts and bots: send a token as “Authorization: Bearer …”. A token acts as you, never beyond what you may do, and only within its scopes."
    >
      <FormMessage>{error ?? tokens.error}</FormMessage>
      <FormMessage kind="success">{notice}</FormMessage>
      {created ? (
        <div className="shown-once">
          <FormMessage kind="success">The token “{created.name}” is made. Copy it now: it is shown only this once.</FormMessage>
          <div className="field">
            <label htmlFor="new-token">New token</label>
            <input id="new-token" readOnly value={created.token} onFocus={(event) => event.target.select()} spellCheck={false} />
          </div>
          <div className="row">
            <CopyButton text={created.token} label="Copy the token" />
            <button type="button" className="small primary" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <CreateTokenForm
          onCreated={(token, name) => {
            setCreated({ token, name });
            setNotice(null);
            tokens.reload();
          }}
        />
      )}
      {list && list.length > 0 ? (
        <ul className="item-list" aria-label="Your API tokens">
          {list.map((token) => (
            <li key={token.id} className="item">
              <div className="item-main">
                <strong>{token.name}</strong> <span className="hint">{token.scopes.join(', ')}</span>
                <p className="hint">
                  Made {formatTime(token.createdAt)} · {token.lastUsedAt ? `last used ${formatTime(token.lastUsedAt)}` : 'never used'} ·{' '}
                  {token.expiresAt ? `expires ${formatTime(token.expiresAt)}` : 'does not expire'}
                </p>
              </div>
              <button type="button" className="small danger" onClick={() => revoke(token)} aria-label={`Revoke the token “${token.name}”`}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      ) : list ? (
        <p className="hint">You have no API tokens.</p>
      ) : null}
    </Section>
  );
};
