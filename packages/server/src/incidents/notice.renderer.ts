import type { AppContext } from '../context.ts';
import { findAccount, issueResetLink } from '../identity/index.ts';
import { MailNotRenderable, type MailRenderer, type MailRenderers, type RenderedDelivery } from '../mail/index.ts';
import { openIncident, openMailingMessage } from './incident.seal.ts';
import { findIncidentRow, findMailingRow } from './mailing.queries.ts';
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
      const incident = await findIncidentRow(ctx.database.db, mailing.incident_id);
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
 * An incident notice, rendered when the worker sends it: the address and name read from the account now,
 * the incident's notice as it reads now, and for "action required" a reset link made now (its row holds only
 * the token's hash; the token is in this one mail). A mail whose account is gone fails with the reason.
 */
export const renderIncidentNotice: MailRenderer = async (ctx, mail, batch): Promise<RenderedDelivery> => {
  if (mail.mailing_id === null || mail.account_id === null) throw new MailNotRenderable('This notice names no mailing or no account; nothing was sent.');
  const mailing = await loadMailing(ctx, batch, mail.mailing_id);
  if (!mailing) throw new MailNotRenderable('Its incident mailing no longer exists; nothing was sent.');
  const account = await findAccount(ctx, mail.account_id);
  if (!account) throw new MailNotRenderable('The account no longer exists; nothing was sent.');
  const person = { displayName: account.display_name };
  const c = mailing.context;
  switch (mailing.template) {
    case 'action-required': {
      const reset = await issueResetLink(ctx, account.id, 'forced');
      return { to: account.email, rendered: renderActionRequired(c, person, reset) };
    }
    case 'precautionary':
      return { to: account.email, rendered: renderPrecautionary(c, person) };
    case 'reassurance':
      return { to: account.email, rendered: renderReassurance(c, person) };
    case 'follow-up':
      if (!mailing.message) throw new MailNotRenderable('This follow-up has no text; nothing was sent.');
      return { to: account.email, rendered: renderFollowUp(c, person, mailing.message) };
    case 'admin-report':
      // Reports are rendered when queued; one without content cannot be made here.
      throw new MailNotRenderable('An admin report is rendered when it is queued; this one has no content.');
  }
};

/** What the incidents domain renders at send time: hand it to createMailWorker / createConfiguredMailWorker. */
export const incidentMailRenderers = (): MailRenderers => ({ incident_notice: renderIncidentNotice });
