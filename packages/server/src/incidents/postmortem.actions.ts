import { POSTMORTEM_MAX_LENGTH } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { auditActor } from '../identity/index.ts';
import { addTimelineEntry, findIncident, incidentTimeline, type IncidentActor } from './incident.actions.ts';
import { sealPostmortem, type OpenedIncident } from './incident.seal.ts';
import { renderPostmortem } from './postmortem.markdown.ts';
import { postmortemTemplate } from './postmortem.template.ts';
import { setIncidentPostmortem, setPostmortemPublished } from './status.queries.ts';

// Control characters other than tab, line feed and carriage return; lone surrogates.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\p{Cs}/u;

/** Throws VALIDATION_FAILED unless the text is a postmortem we can keep: not blank, not too long, no control characters. */
export function assertPostmortemText(markdown: unknown): asserts markdown is string {
  if (typeof markdown !== 'string' || markdown.trim() === '') throw new AppError('VALIDATION_FAILED', { message: 'The postmortem is empty.' });
  // Counted in characters (code points), as the request schema counts them.
  let length = 0;
  for (const _ of markdown) if (++length > POSTMORTEM_MAX_LENGTH) break;
  if (length > POSTMORTEM_MAX_LENGTH) throw new AppError('VALIDATION_FAILED', { message: `The postmortem is longer than ${POSTMORTEM_MAX_LENGTH.toLocaleString('en')} characters.` });
  const bad = FORBIDDEN.exec(markdown);
  if (bad) {
    const line = markdown.slice(0, bad.index).split('\n').length;
    throw new AppError('VALIDATION_FAILED', { message: `The postmortem holds a control character on line ${line}; only tabs and line breaks are allowed.` });
  }
}

const auditBy = (actor: IncidentActor): Record<string, unknown> => (actor ? auditActor(actor) : {});

/**
 * Saves the postmortem's Markdown. Before publication it is a draft nobody outside sees; once published,
 * the record holds one text, so saving revises the published postmortem at once (a correction), and the
 * timeline says so.
 */
export const setPostmortem = async (ctx: AppContext, ref: string, markdown: string, actor?: IncidentActor): Promise<OpenedIncident> => {
  assertPostmortemText(markdown);
  const incident = await findIncident(ctx, ref);
  const sealed = sealPostmortem(ctx.keyring, incident.id, markdown);
  const published = incident.postmortemPublishedAt !== null;
  const now = ctx.now();
  await ctx.database.db.transaction().execute(async (trx) => {
    await setIncidentPostmortem(trx, incident.id, sealed, now);
    await addTimelineEntry(ctx, trx, {
      incidentId: incident.id,
      kind: 'postmortem',
      body: published ? 'Published postmortem revised.' : incident.postmortem === null ? 'Postmortem draft written.' : 'Postmortem draft revised.',
      actorId: actor?.account.id ?? null,
      at: now,
    });
  });
  await ctx.audit.record({ action: 'incident.postmortem_write', ...auditBy(actor), detail: { incidentId: incident.id, number: incident.number, published, length: markdown.length } });
  return findIncident(ctx, incident.id);
};

/**
 * Publishes the postmortem on record, and the incident with it if it was not on the status page yet; the
 * public timeline says the postmortem is out. Needs a draft (POSTMORTEM_DRAFT_MISSING); publishing a
 * published postmortem changes nothing.
 */
export const publishPostmortem = async (ctx: AppContext, ref: string, actor?: IncidentActor): Promise<OpenedIncident> => {
  const incident = await findIncident(ctx, ref);
  if (incident.postmortem === null) throw new AppError('POSTMORTEM_DRAFT_MISSING');
  if (incident.postmortemPublishedAt !== null) return incident;
  const now = ctx.now();
  const actorId = actor?.account.id ?? null;
  const changed = await ctx.database.db.transaction().execute(async (trx) => {
    if (!(await setPostmortemPublished(trx, incident.id, now))) return false;
    if (incident.publishedAt === null) await addTimelineEntry(ctx, trx, { incidentId: incident.id, kind: 'published', body: 'Published on the status page with its postmortem.', actorId, at: now });
    await addTimelineEntry(ctx, trx, { incidentId: incident.id, kind: 'postmortem', body: 'The postmortem is published.', public: true, actorId, at: now });
    return true;
  });
  if (changed) {
    await ctx.audit.record({
      action: 'incident.postmortem_publish',
      ...auditBy(actor),
      detail: { incidentId: incident.id, number: incident.number, incidentPublished: incident.publishedAt === null },
    });
  }
  return findIncident(ctx, incident.id);
};

export interface PostmortemDraft {
  incident: OpenedIncident;
  markdown: string | null;
  /** The text rendered as the status page would show it. */
  html: string | null;
  /** A skeleton prefilled from the incident, when there is no text yet. */
  template: string | null;
}

/** The postmortem as the operator edits it: the text on record and its rendering, or a skeleton to start from. */
export const readPostmortem = async (ctx: AppContext, ref: string): Promise<PostmortemDraft> => {
  const incident = await findIncident(ctx, ref);
  if (incident.postmortem !== null) return { incident, markdown: incident.postmortem, html: renderPostmortem(incident.postmortem), template: null };
  return { incident, markdown: null, html: null, template: postmortemTemplate(incident, await incidentTimeline(ctx, incident.id, { publicOnly: true })) };
};

/** The skeleton for this incident, whether or not it has a postmortem already. */
export const postmortemTemplateFor = async (ctx: AppContext, ref: string): Promise<string> => {
  const incident = await findIncident(ctx, ref);
  return postmortemTemplate(incident, await incidentTimeline(ctx, incident.id, { publicOnly: true }));
};
