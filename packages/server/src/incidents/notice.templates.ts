import { durationWords, escapeHtml, greetingName, htmlPage, type RenderedMail } from '../mail/index.ts';
import type { BreachNotice } from './incident.seal.ts';

/** The templates of an incident's mailings (incident_mailings.template). */
export type NoticeTemplate = 'action-required' | 'precautionary' | 'reassurance' | 'follow-up' | 'admin-report';

/** What every notice of one incident shares: the reference, the server, and the breach notice's fields. */
export interface NoticeContext {
  /** INC-3 */
  ref: string;
  /** The server's host (PUBLIC_URL), how people know it. */
  host: string;
  origin: string;
  notice: BreachNotice;
}

/** What an instance's admins are told the incident touched there (incident_scope_instances.summary). */
export interface InstanceSummary {
  roomsRead: number;
  affected: number;
  possiblyAffected: number;
}

export interface AdminReportInput {
  instanceName: string;
  /** Where the scope put the instance. */
  segment: 'affected' | 'possibly_affected' | 'not_affected';
  /** Null: the scope did not count per instance (it put every instance in its default segment). */
  summary: InstanceSummary | null;
}

/** A header value on one line, bounded (operators type follow-up subjects). */
const oneLine = (value: string, max: number): string => value.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, max);

/** Free text to HTML: escaped, blank lines make paragraphs, single line breaks stay. */
const textToHtml = (text: string): string[] =>
  text
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => escapeHtml(p).replace(/\n/g, '<br>'));

const subjectOf = (c: NoticeContext, words: string): string => oneLine(`[${c.ref}] ${words}`, 200);

const whatHappened = (c: NoticeContext): string =>
  c.notice.whatHappened.trim() || `A security incident affected the Conclave server at ${c.host}. We are investigating it.`;

const contactLine = (c: NoticeContext): string =>
  c.notice.contact.trim()
    ? `Questions: ${c.notice.contact.trim()}. Please mention ${c.ref}.`
    : `Questions: ask the administrators of your instance, mentioning ${c.ref}.`;

const categoriesLine = (c: NoticeContext): string | undefined =>
  c.notice.categories.length > 0 ? `Information concerned: ${c.notice.categories.join(', ')}.` : undefined;

/** One section: a heading line and its text. */
interface Section {
  heading?: string;
  text: string;
  /** Already HTML (a link); otherwise the text is escaped. */
  html?: string;
}

const compose = (c: NoticeContext, displayName: string, title: string, subject: string, sections: Section[]): RenderedMail => {
  const name = greetingName(displayName) || 'there';
  const signature = `— Conclave at ${c.host}`;
  const text: string[] = [`Hello ${name},`, ''];
  for (const section of sections) {
    if (section.heading) text.push(section.heading);
    text.push(section.text, '');
  }
  text.push(signature, '');
  const html: string[] = [`Hello ${escapeHtml(name)},`];
  for (const section of sections) {
    const body = section.html !== undefined ? [section.html] : textToHtml(section.text);
    if (section.heading) html.push(`<strong>${escapeHtml(section.heading)}</strong><br>${body.join('<br><br>')}`);
    else html.push(...body);
  }
  html.push(escapeHtml(signature));
  return { subject, text: text.join('\n'), html: htmlPage(title, html) };
};

/** Affected people: what happened, what it means, what was done, and a reset link (made when the mail is sent). */
export const renderActionRequired = (c: NoticeContext, person: { displayName: string }, reset: { link: string; ttlMs: number }): RenderedMail => {
  const validity = `The link works once, for ${durationWords(reset.ttlMs)}. If it expires, ask for a new one on the log-in page ("Forgot your password?").`;
  return compose(c, person.displayName, `${c.ref}: action required`, subjectOf(c, `Action required: choose a new password for ${c.host}`), [
    { text: `Your account on ${c.host} was affected by a security incident (${c.ref}). This mail says what happened and what you need to do.` },
    { heading: 'What happened', text: [whatHappened(c), categoriesLine(c)].filter(Boolean).join('\n') },
    { heading: 'What it means for you', text: c.notice.consequences.trim() || 'Information about your account may have been seen by someone who should not have seen it.' },
    { heading: 'What we did', text: c.notice.measures.trim() || 'We stopped the intrusion and signed the affected accounts out.' },
    {
      heading: 'What you need to do: choose a new password',
      text: `${reset.link}\n${validity}\nIf you used the same password anywhere else, change it there too.`,
      html: `<a href="${escapeHtml(reset.link)}">Choose a new password</a><br>Or copy this link into your browser:<br>${escapeHtml(reset.link)}<br>${escapeHtml(validity)}<br>If you used the same password anywhere else, change it there too.`,
    },
    { text: contactLine(c) },
  ]);
};

/** Possibly affected people: what happened, why they might be concerned, what was done, what they may do. */
export const renderPrecautionary = (c: NoticeContext, person: { displayName: string }): RenderedMail =>
  compose(c, person.displayName, `${c.ref}: security notice`, subjectOf(c, `Security incident on ${c.host}: what it may mean for you`), [
    { text: `We are writing about a security incident (${c.ref}) on ${c.host}. We have no evidence that your account was affected, but we cannot rule it out, so we are telling you.` },
    { heading: 'What happened', text: [whatHappened(c), categoriesLine(c)].filter(Boolean).join('\n') },
    { heading: 'Why you might be concerned', text: c.notice.consequences.trim() || 'You are a member of an instance where the incident reached some information.' },
    { heading: 'What we did', text: c.notice.measures.trim() || 'We stopped the intrusion and are reviewing what it reached.' },
    {
      heading: 'What you can do',
      text: `Nothing is required of you. If you want, you can change your password at ${c.origin} (and anywhere else you used the same one). Be wary of mails or messages asking for your password: we never ask for it.`,
    },
    { text: contactLine(c) },
  ]);

/** People who were not affected: short, and nothing to do (the 2010 lesson: do not alarm them). */
export const renderReassurance = (c: NoticeContext, person: { displayName: string }): RenderedMail =>
  compose(c, person.displayName, `${c.ref}: your account was not affected`, subjectOf(c, `Security incident on ${c.host}: your account was not affected`), [
    { text: `A security incident (${c.ref}) happened on ${c.host}. We checked: your account and your conversations were not affected. There is nothing you need to do.` },
    { text: contactLine(c) },
  ]);

/** A later mailing to a segment: the operator's subject and text (plain text, escaped into the HTML). */
export const renderFollowUp = (c: NoticeContext, person: { displayName: string }, message: { subject: string; body: string }): RenderedMail =>
  compose(c, person.displayName, `${c.ref}: ${oneLine(message.subject, 150)}`, subjectOf(c, `${oneLine(message.subject, 150)} (${c.host})`), [{ text: message.body.trim() }, { text: contactLine(c) }]);

const SEGMENT_VERB: Record<AdminReportInput['segment'], string> = {
  affected: 'affected',
  possibly_affected: 'possibly affected',
  not_affected: 'did not affect',
};

/** Each admin of an instance the incident touched: what it touched there, and what was done. */
export const renderAdminReport = (c: NoticeContext, admin: { displayName: string }, input: AdminReportInput): RenderedMail => {
  const instance = oneLine(input.instanceName, 100) || 'your instance';
  const figures = input.summary
    ? [
        `Rooms whose content was read: ${input.summary.roomsRead}`,
        `People affected: ${input.summary.affected} (they get an "action required" notice with a link to choose a new password)`,
        `People possibly affected: ${input.summary.possiblyAffected} (they get a precautionary notice)`,
      ].join('\n')
    : 'The incident may concern every instance on this server; it was not counted per instance.';
  return compose(c, admin.displayName, `${c.ref}: report for ${instance}`, subjectOf(c, `Incident report for ${instance} on ${c.host}`), [
    { text: `You are an administrator of ${instance} on ${c.host}. A security incident (${c.ref}) touched the server; ${instance} is among the instances it ${SEGMENT_VERB[input.segment]}; this is what it touched there.` },
    { heading: `In ${instance}`, text: figures },
    { heading: 'What happened', text: [whatHappened(c), categoriesLine(c)].filter(Boolean).join('\n') },
    { heading: 'What was done', text: c.notice.measures.trim() || 'The intrusion was stopped; the people concerned are being told.' },
    { text: `Your members may ask you about it; the notices they receive mention ${c.ref}. ${contactLine(c)}` },
  ]);
};

/** The deterministic stand-ins a dry run renders its samples with: no real person's name or address. */
export const SAMPLE_PERSON = { displayName: 'Alex Example', email: 'alex@example.org' } as const;
export const sampleResetLink = (origin: string): string => `${origin}/reset-password#token=(a one-time token made when the mail is sent)`;
