/** A rendered mail: the subject and both bodies. Everything interpolated into HTML is escaped. */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

/** A display name on one line, bounded: it goes into a greeting, never into a header. */
export const greetingName = (name: string): string => name.replace(/[\p{Cc}\u2028\u2029]/gu, ' ').trim().slice(0, 100);

export const utc = (at: number): string => `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** 1 hour, 3 days, 90 minutes. */
export const durationWords = (ms: number): string => {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} day${ms === 86_400_000 ? '' : 's'}`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hour${ms === 3_600_000 ? '' : 's'}`;
  return `${Math.max(1, Math.round(ms / 60_000))} minutes`;
};

/** A minimal HTML mail: each paragraph is already-escaped HTML. */
export const htmlPage = (title: string, paragraphs: string[]): string =>
  [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`,
    '<body style="font-family: sans-serif; line-height: 1.5; max-width: 36em;">',
    ...paragraphs.map((p) => `<p>${p}</p>`),
    '</body></html>',
    '',
  ].join('\n');

/** The link a reset mail carries: the token rides in the fragment, which browsers never send to a server. */
export const resetLink = (origin: string, token: string): string => `${origin}/reset-password#token=${token}`;

export interface PasswordResetMail {
  origin: string;
  displayName: string;
  link: string;
  ttlMs: number;
  /** Why the mail was sent: the person asked, or an admin, operator or incident requires a new password. */
  reason: 'requested' | 'forced' | 'login';
}

export const renderPasswordReset = (input: PasswordResetMail): RenderedMail => {
  const name = greetingName(input.displayName);
  const why =
    input.reason === 'requested'
      ? `Someone (hopefully you) asked to reset the password of your Conclave account at ${input.origin}.`
      : `Your Conclave account at ${input.origin} needs a new password before you can log in again: an administrator or the server's operator required it, and every session of your account has been signed out.`;
  const ignore =
    input.reason === 'requested'
      ? 'If you did not ask for this, ignore this mail: your password stays as it is.'
      : 'Your old password no longer logs in. Nobody else, administrators included, can see or choose your new password.';
  const validity = `The link works once, for ${durationWords(input.ttlMs)}.`;
  return {
    subject: input.reason === 'requested' ? 'Reset your Conclave password' : 'Choose a new Conclave password',
    text: [`Hello ${name},`, '', why, '', 'Choose a new password here:', '', input.link, '', validity, ignore, '', '— Conclave', ''].join('\n'),
    html: htmlPage('Conclave password reset', [
      `Hello ${escapeHtml(name)},`,
      escapeHtml(why),
      `<a href="${escapeHtml(input.link)}">Choose a new password</a>`,
      `Or copy this link into your browser:<br>${escapeHtml(input.link)}`,
      `${escapeHtml(validity)} ${escapeHtml(ignore)}`,
      '— Conclave',
    ]),
  };
};

export interface PasswordChangedMail {
  origin: string;
  displayName: string;
  changedAt: number;
}

export const renderPasswordChanged = (input: PasswordChangedMail): RenderedMail => {
  const name = greetingName(input.displayName);
  const what = `The password of your Conclave account at ${input.origin} was changed with a reset link on ${utc(input.changedAt)}, and every session of the account was signed out.`;
  const ifNot = `If this was not you, reset your password again at ${input.origin} right away and tell your administrator.`;
  return {
    subject: 'Your Conclave password was changed',
    text: [`Hello ${name},`, '', what, '', ifNot, '', '— Conclave', ''].join('\n'),
    html: htmlPage('Conclave password changed', [`Hello ${escapeHtml(name)},`, escapeHtml(what), escapeHtml(ifNot), '— Conclave']),
  };
};
