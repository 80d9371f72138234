import type { AppContext } from '../context.ts';
import { findAccounts, issueResetLinks } from '../identity/index.ts';
import { MailNotRenderable, type MailRenderer, type MailRenderers, type RenderedDelivery } from '../mail/index.ts';
import { openIncident, openMailingMessage } from './incident.seal.ts';
import { findIncidentById } from './incident.queries.ts';
import { findMailingRow } from './mailing.queries.ts';
import { noticeContext } from './notice.actions.ts';
import { renderActionRequired, renderFollowUp, renderPrecautionary, renderReassurance, type NoticeContext, type NoticeTemplate } from './notice.templates.ts';

interface LoadedMailing {
  template: NoticeTemplate;
  context: NoticeContext;
  message: { subject: string; body: string } | null;
}

/** A mailing and its incident, opened once per pass of the worker (every mail of the pass shares them). */
const loadMailing = (ctx: AppContext, batch: Map<string, unknown>, mailingId: string): Promise<LoadedMailing | undefined> => {
  const key = `incident-mailing:${mailingId}`;
  let loaded = batch.get(key) as Promise<LoadedMailing | undefined> | undefined;
  if (!loaded) {
    loaded = (async () => {
      const mailing = await findMailingRow(ctx.database.db, mailingId);
      if (!mailing) return undefined;
      const incident = await findIncidentById(ctx.database.db, mailing.incident_id);
      if (!incident) return undefined;
      return {
        template: mailing.template,
        context: noticeContext(ctx, openIncident(ctx.keyring, incident)),
        message: mailing.message === null ? null : openMailingMessage(ctx.keyring, mailing.id, mailing.message),
      };
    })();
    // A failed load is not cached: the next mail tries again.
    loaded.catch(() => batch.delete(key));
    batch.set(key, loaded);
  }
  return loaded;
};

/**
 * Incident notices, rendered when the worker sends them (those claimed together, together): the address and
 * name read from each account now (one query), the incident's notice as it reads now, and for "action
 * required" a reset link made now (the rows, one statement, hold only the tokens' hashes; each token is in its
 * one mail). A mail whose account is gone fails with the reason; nothing is made for it.
 */
export const renderIncidentNotices: MailRenderer = async (ctx, mails, batch): Promise<Array<RenderedDelivery | Error>> => {
  const accounts = new Map((await findAccounts(ctx, mails.flatMap((m) => (m.account_id === null ? [] : [m.account_id])))).map((a) => [a.id, a]));
  const prepared = await Promise.all(
    mails.map(async (mail) => {
      if (mail.mailing_id === null || mail.account_id === null) return new MailNotRenderable('This notice names no mailing or no account; nothing was sent.');
      const mailing = await loadMailing(ctx, batch, mail.mailing_id);
      if (!mailing) return new MailNotRenderable('Its incident mailing no longer exists; nothing was sent.');
      const account = accounts.get(mail.account_id);
      if (!account) return new MailNotRenderable('The account no longer exists; nothing was sent.');
      if (mailing.template === 'admin-report') return new MailNotRenderable('An admin report is rendered when it is queued; this one has no content.');
      if (mailing.template === 'follow-up' && !mailing.message) return new MailNotRenderable('This follow-up has no text; nothing was sent.');
      return { mailing, account };
    }),
  );
  const needLinks = prepared.flatMap((p) => (p instanceof Error || p.mailing.template !== 'action-required' ? [] : [p.account.id]));
  const links = needLinks.length > 0 ? await issueResetLinks(ctx, needLinks, 'forced') : [];
  let nextLink = 0;
  return prepared.map((p): RenderedDelivery | Error => {
    if (p instanceof Error) return p;
    const { mailing, account } = p;
    const person = { displayName: account.display_name };
    const c = mailing.context;
    switch (mailing.template) {
      case 'action-required':
        return { to: account.email, rendered: renderActionRequired(c, person, links[nextLink++]!) };
      case 'precautionary':
        return { to: account.email, rendered: renderPrecautionary(c, person) };
      case 'reassurance':
        return { to: account.email, rendered: renderReassurance(c, person) };
      case 'follow-up':
        return { to: account.email, rendered: renderFollowUp(c, person, mailing.message!) };
      case 'admin-report':
        return new MailNotRenderable('An admin report is rendered when it is queued; this one has no content.');
    }
  });
};

/** What the incidents domain renders at send time: hand it to createMailWorker / createConfiguredMailWorker. */
export const incidentMailRenderers = (): MailRenderers => ({ incident_notice: renderIncidentNotices });
