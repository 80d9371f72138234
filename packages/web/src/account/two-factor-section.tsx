import type { RecoveryCodesResponse, TwoFactorSetupResponse, TwoFactorStatus } from '@conclave/protocol';
import { useState } from 'react';
import { api } from '../api.ts';
import { CopyButton, DownloadButton } from '../components/copy-button.tsx';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { Section } from '../components/page-layout.tsx';
import { PasswordField } from '../components/password-field.tsx';
import { useForm } from '../components/use-form.ts';
import type { Resource } from '../components/use-resource.ts';
import { useSession, type Me } from '../session.tsx';
import { formatTime, recoveryCodesFile } from './format.ts';
import { QrCode } from './qr-code.tsx';

type Phase =
  | { kind: 'idle' }
  | { kind: 'start' }
  | { kind: 'scan'; setup: TwoFactorSetupResponse }
  | { kind: 'codes'; codes: string[] }
  | { kind: 'regenerate' }
  | { kind: 'disable' };

/** The secret in groups of four, as authenticator apps show it; spaces are ignored where it is typed. */
const grouped = (secret: string): string => secret.replace(/(.{4})(?=.)/g, '$1 ');

const StartForm = ({ onStarted, onCancel }: { onStarted(setup: TwoFactorSetupResponse): void; onCancel(): void }) => {
  const [password, setPassword] = useState('');
  const form = useForm(async () => onStarted(await api<TwoFactorSetupResponse>('POST', '/me/2fa/setup', { password })));
  return (
    <form onSubmit={form.onSubmit} noValidate className="narrow-form">
      <p>Confirm it is you: your password starts the setup.</p>
      <FormMessage>{form.error}</FormMessage>
      <PasswordField label="Your password" value={password} onChange={setPassword} autoComplete="current-password" />
      <SubmitButton busy={form.busy}>Continue</SubmitButton>
      <button type="button" className="link" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
};

const ScanStep = ({ setup, email, onEnabled, onCancel }: { setup: TwoFactorSetupResponse; email: string; onEnabled(codes: string[]): void; onCancel(): void }) => {
  const [code, setCode] = useState('');
  const form = useForm(async () => {
    const answer = await api<RecoveryCodesResponse>('POST', '/me/2fa/enable', { code: code.replace(/\s+/g, '') });
    onEnabled(answer.recoveryCodes);
  });
  return (
    <div className="two-factor-setup">
      <ol className="steps">
        <li>
          <p>Scan this code with an authenticator app (such as Aegis, FreeOTP, Google Authenticator or 1Password).</p>
          <QrCode text={setup.otpauthUri} label={`QR code for adding Conclave (${email}) to an authenticator app`} />
          <p className="hint">Cannot scan it? Enter this key in the app by hand (time-based, 6 digits, every 30 seconds):</p>
          <p>
            <code className="secret" id="two-factor-key">
              {grouped(setup.secret)}
            </code>{' '}
            <CopyButton text={setup.secret} label="Copy the key" />
          </p>
        </li>
        <li>
          <form onSubmit={form.onSubmit} noValidate className="narrow-form">
            <FormMessage>{form.error}</FormMessage>
            <Field
              label="The 6-digit code the app shows"
              value={code}
              onChange={setCode}
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9 ]*"
              maxLength={7}
              required
              hint="This confirms the app and the server agree; two-factor authentication is on once it is accepted."
            />
            <SubmitButton busy={form.busy}>Turn on two-factor authentication</SubmitButton>
            <button type="button" className="link" onClick={onCancel}>
              Cancel
            </button>
          </form>
        </li>
      </ol>
    </div>
  );
};

/** A password and one second factor: what turning 2FA off and renewing the recovery codes ask for. */
const ProofForm = ({ path, submitLabel, onDone, onCancel }: { path: string; submitLabel: string; onDone(answer: RecoveryCodesResponse | undefined): void; onCancel(): void }) => {
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [useRecovery, setUseRecovery] = useState(false);
  const form = useForm(async () => {
    const proof = useRecovery ? { recoveryCode: code.trim() } : { code: code.replace(/\s+/g, '') };
    onDone(await api<RecoveryCodesResponse | undefined>('POST', path, { password, ...proof }));
  });
  return (
    <form onSubmit={form.onSubmit} noValidate className="narrow-form">
      <FormMessage>{form.error}</FormMessage>
      <PasswordField label="Your password" value={password} onChange={setPassword} autoComplete="current-password" />
      {useRecovery ? (
        <Field label="A recovery code" value={code} onChange={setCode} autoComplete="off" spellCheck={false} required />
      ) : (
        <Field label="Code from your authenticator app" value={code} onChange={setCode} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={7} required />
      )}
      <button
        type="button"
        className="link"
        onClick={() => {
          setUseRecovery((v) => !v);
          setCode('');
        }}
      >
        {useRecovery ? 'Use a code from the authenticator app' : 'Use a recovery code instead'}
      </button>
      <SubmitButton busy={form.busy}>{submitLabel}</SubmitButton>
      <button type="button" className="link" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
};

const RecoveryCodes = ({ codes, email, onDone }: { codes: string[]; email: string; onDone(): void }) => {
  const text = codes.join('\n');
  return (
    <div className="shown-once">
      <FormMessage kind="success">Save these recovery codes now: they are shown only this once.</FormMessage>
      <p>Each code logs you in once if you lose your authenticator app. Keep them apart from your password.</p>
      <ul className="recovery-codes" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div className="row">
        <CopyButton text={text} label="Copy the codes" />
        <DownloadButton text={recoveryCodesFile(codes, email, new Date())} fileName="conclave-recovery-codes.txt" label="Download as a file" />
        <button type="button" className="small primary" onClick={onDone}>
          I have saved them
        </button>
      </div>
    </div>
  );
};

export const TwoFactorSection = ({ me, status }: { me: Me; status: Resource<TwoFactorStatus> }) => {
  const session = useSession();
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const idle = () => setPhase({ kind: 'idle' });
  // The account's twoFactorEnabled (in /me) and the status change together.
  const changed = () => {
    status.reload();
    void session.refresh();
  };
  const state = status.data;
  const email = me.account.email;

  let body;
  if (phase.kind === 'start') body = <StartForm onStarted={(setup) => setPhase({ kind: 'scan', setup })} onCancel={idle} />;
  else if (phase.kind === 'scan')
    body = (
      <ScanStep
        setup={phase.setup}
        email={email}
        onEnabled={(codes) => {
          setPhase({ kind: 'codes', codes });
          changed();
        }}
        onCancel={idle}
      />
    );
  else if (phase.kind === 'codes') body = <RecoveryCodes codes={phase.codes} email={email} onDone={idle} />;
  else if (phase.kind === 'regenerate')
    body = (
      <ProofForm
        path="/me/2fa/recovery-codes"
        submitLabel="Make new recovery codes"
        onDone={(answer) => {
          setPhase({ kind: 'codes', codes: answer?.recoveryCodes ?? [] });
          status.reload();
        }}
        onCancel={idle}
      />
    );
  else if (phase.kind === 'disable')
    body = (
      <ProofForm
        path="/me/2fa/disable"
        submitLabel="Turn off two-factor authentication"
        onDone={() => {
          idle();
          changed();
        }}
        onCancel={idle}
      />
    );
  else if (state?.enabled)
    body = (
      <>
        <p>
          <strong>On</strong>
          {state.enabledAt ? ` since ${formatTime(state.enabledAt)}` : ''}. Logging in asks for a code from your authenticator app.
        </p>
        <p className={state.recoveryCodesLeft <= 2 ? 'form-message error' : 'hint'}>
          {state.recoveryCodesLeft === 1 ? '1 recovery code left.' : `${state.recoveryCodesLeft} recovery codes left.`}
          {state.recoveryCodesLeft <= 2 ? ' Make new ones before you run out.' : ''}
        </p>
        <div className="row">
          <button type="button" onClick={() => setPhase({ kind: 'regenerate' })}>
            Make new recovery codes
          </button>
          <button type="button" className="danger" onClick={() => setPhase({ kind: 'disable' })}>
            Turn off
          </button>
        </div>
      </>
    );
  else if (state)
    body = (
      <>
        <p>
          <strong>Off.</strong> With it on, a stolen password is not enough: logging in also asks for a code from an app on your phone.
        </p>
        <button type="button" className="primary" onClick={() => setPhase({ kind: 'start' })}>
          Set up two-factor authentication
        </button>
      </>
    );
  else body = status.error ? <FormMessage>{status.error}</FormMessage> : <p className="hint">Loading…</p>;

  return <Section title="Two-factor authentication">{body}</Section>;
};
