import type { ErrorCode } from '@conclave/protocol';
import { useId, useState } from 'react';
import { assessPassword, type PasswordContext } from '../password-strength.ts';
import type { Form } from './use-form.ts';

interface PasswordFieldProps {
  label: string;
  value: string;
  onChange(value: string): void;
  /** A new password: show the meter that explains it. */
  meter?: boolean;
  context?: PasswordContext;
  /** The server's answer code for this password (PASSWORD_TOO_COMMON…), until it is edited. */
  serverProblem?: ErrorCode | undefined;
  autoComplete: 'current-password' | 'new-password';
  name?: string;
}

const LEVELS = ['', 'Too short', 'Accepted', 'Good', 'Very strong'] as const;

/** A password input with a show/hide toggle and, for a new password, a meter that explains rather than demands. */
export const PasswordField = ({ label, value, onChange, meter = false, context, serverProblem, autoComplete, name }: PasswordFieldProps) => {
  const id = useId();
  const [visible, setVisible] = useState(false);
  const assessment = assessPassword(value, context, serverProblem);
  const level = serverProblem ? 'Not accepted' : LEVELS[assessment.score] || 'Not accepted';
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="password-input">
        <input
          id={id}
          name={name}
          type={visible ? 'text' : 'password'}
          value={value}
          onChange={(event) => onChange(event.target.value)}
          autoComplete={autoComplete}
          required
          spellCheck={false}
          aria-invalid={serverProblem ? true : undefined}
          aria-describedby={meter ? `${id}-strength` : undefined}
        />
        <button type="button" className="ghost" onClick={() => setVisible((v) => !v)} aria-pressed={visible} aria-controls={id}>
          {visible ? 'Hide' : 'Show'}
        </button>
      </div>
      {meter ? (
        <div id={`${id}-strength`} className={`strength strength-${serverProblem ? 0 : assessment.score}`} aria-live="polite">
          <div className="strength-row">
            <meter min={0} max={4} low={2} high={3} optimum={4} value={serverProblem ? 0 : assessment.score} aria-label="Password strength" />
            {value ? <span className="strength-level">{level}</span> : null}
          </div>
          <p className="strength-verdict">{assessment.verdict}</p>
          {assessment.notes.length > 0 ? (
            <ul className="strength-notes">
              {assessment.notes.map((note) => (
                <li key={note}>{note}</li>
              ))}
            </ul>
          ) : null}
          <p className="hint">No symbols or capitals required: length is what counts.</p>
        </div>
      ) : null}
    </div>
  );
};

type NewPasswordFieldProps = Omit<PasswordFieldProps, 'meter' | 'serverProblem' | 'autoComplete'> & {
  /** The form's state (useForm): the server's verdict shows in the meter until the password is edited. */
  form: Pick<Form, 'passwordProblem' | 'clearPasswordProblem'>;
};

/** A new password: the meter, and the server's verdict on what was sent until it is edited. */
export const NewPasswordField = ({ form, onChange, ...props }: NewPasswordFieldProps) => (
  <PasswordField
    {...props}
    meter
    autoComplete="new-password"
    serverProblem={form.passwordProblem}
    onChange={(value) => {
      onChange(value);
      form.clearPasswordProblem();
    }}
  />
);
