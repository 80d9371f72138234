import type { IncidentDetail, NoticePlan, NotifyRequest } from '@conclave/protocol';
import { useEffect, useId, useState } from 'react';
import { FormMessage } from '../components/form.tsx';
import { incidentsApi } from './console-api.ts';
import { useDescribeError } from './console-errors.ts';
import { count, SEGMENT_LABELS, TEMPLATE_LABELS } from './console-format.ts';
import { NoticeFields } from './notice-fields.tsx';

type Plan = Required<NonNullable<NotifyRequest['plan']>>;
type AffectedChoice = Plan['affected'];

/** The mail one segment gets, as the dry run rendered it for a made-up recipient. */
const SamplePreview = ({ sample, label }: { sample: NoticePlan['samples'][number] | undefined; label: string }) => {
  if (!sample) return null;
  return (
    <figure className="mail-preview" aria-label={`Preview: ${label}`}>
      <figcaption>
        <span className="mail-subject">{sample.rendered.subject}</span>
      </figcaption>
      {/* Scrolls when long: focusable, so the keyboard scrolls it too. */}
      <pre className="mail-text" tabIndex={0} aria-label={`The text of the mail: ${label}`}>
        {sample.rendered.text ?? ''}
      </pre>
    </figure>
  );
};

/**
 * Notices: which mail each segment gets, a preview of each (the dry run: the server renders every mail the
 * plan sends for a made-up recipient, with a stand-in for the reset link; nothing is written), then the
 * mailings queued through the outbox.
 */
export const NotifySection = ({ detail, reload, onQueued }: { detail: IncidentDetail; reload(): Promise<void>; onQueued(): void }) => {
  const describe = useDescribeError();
  const ref = detail.incident.ref;
  const scope = detail.scope;
  const ids = { affected: useId(), possibly: useId(), not: useId(), rate: useId() };
  const [plan, setPlan] = useState<Plan>({ affected: 'action-required', possibly_affected: 'precautionary', not_affected: 'none' });
  const [adminReports, setAdminReports] = useState(true);
  const [rate, setRate] = useState('200');
  const [preview, setPreview] = useState<NoticePlan | null>(null);
  const [busy, setBusy] = useState<'preview' | 'send' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState<string | null>(null);

  // A preview quotes the breach notice and counts the latest scope: either changing makes it stale.
  const noticeKey = `${JSON.stringify(detail.incident.notice)}:${scope?.id ?? ''}`;
  useEffect(() => setPreview(null), [noticeKey]);

  const request = (): Omit<NotifyRequest, 'dryRun'> => ({
    scopeId: scope ? scope.id : null,
    plan,
    adminReports: scope ? adminReports : false,
    ratePerSecond: Number.parseInt(rate, 10) || 200,
  });

  const change = (update: () => void) => {
    update();
    setPreview(null);
    setSent(null);
  };

  const showPreview = async () => {
    setBusy('preview');
    setError(null);
    try {
      setPreview(await incidentsApi.planNotices(ref, request()));
    } catch (failure) {
      setError(describe(failure));
    } finally {
      setBusy(null);
    }
  };

  const send = async () => {
    setBusy('send');
    setError(null);
    try {
      const queued = await incidentsApi.sendNotices(ref, request());
      const added = queued.mailings.reduce((sum, m) => sum + m.added, 0);
      setSent(`${count(added, 'notice')} queued${added === 0 ? ' (everyone already had theirs: nobody gets a second copy)' : ''}. Follow the delivery below.`);
      setPreview(null);
      onQueued();
      await reload();
    } catch (failure) {
      setError(describe(failure));
    } finally {
      setBusy(null);
    }
  };

  const toSend = preview ? preview.segments.reduce((sum, s) => sum + (s.template === 'none' ? 0 : Math.max(0, s.people - s.alreadyQueued)), 0) + (preview.adminReports ? Math.max(0, preview.adminReports.recipients - preview.adminReports.alreadyQueued) : 0) : 0;
  const affectedChoices: AffectedChoice[] = ['action-required', 'precautionary', 'none'];

  return (
    <section id="notify" className="panel" aria-labelledby="notify-heading" tabIndex={-1}>
      <h2 id="notify-heading">3. Notify</h2>
      <p className="hint">
        {scope
          ? 'Each segment of the scope gets the mail that fits it. "Action required" carries a reset link made when the mail is sent.'
          : 'No scope: everyone gets the mail chosen for the affected.'}
      </p>
      <NoticeFields key={detail.incident.id} detail={detail} reload={reload} />
      <FormMessage>{error}</FormMessage>
      <FormMessage kind="success">{sent}</FormMessage>
      <div className="notice-plan">
        <div className="field">
          <label htmlFor={ids.affected}>{scope ? 'Affected get' : 'Everyone gets'}</label>
          <select id={ids.affected} value={plan.affected} onChange={(event) => change(() => setPlan({ ...plan, affected: event.target.value as AffectedChoice }))}>
            {affectedChoices.map((choice) => (
              <option key={choice} value={choice}>
                {TEMPLATE_LABELS[choice]}
              </option>
            ))}
          </select>
        </div>
        {scope ? (
          <>
            <div className="field">
              <label htmlFor={ids.possibly}>Possibly affected get</label>
              <select id={ids.possibly} value={plan.possibly_affected} onChange={(event) => change(() => setPlan({ ...plan, possibly_affected: event.target.value as AffectedChoice }))}>
                {affectedChoices.map((choice) => (
                  <option key={choice} value={choice}>
                    {TEMPLATE_LABELS[choice]}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={ids.not}>Not affected get</label>
              <select id={ids.not} value={plan.not_affected} onChange={(event) => change(() => setPlan({ ...plan, not_affected: event.target.value as Plan['not_affected'] }))}>
                <option value="none">{TEMPLATE_LABELS.none} (the default: a notice alarms people it does not concern)</option>
                <option value="reassurance">{TEMPLATE_LABELS.reassurance}</option>
              </select>
            </div>
            <label className="check">
              <input type="checkbox" checked={adminReports} onChange={(event) => change(() => setAdminReports(event.target.checked))} /> Send each admin of a touched instance a report of what it touched there
            </label>
          </>
        ) : null}
        <div className="field narrow">
          <label htmlFor={ids.rate}>Mails per second</label>
          <input id={ids.rate} type="number" inputMode="numeric" min={1} max={10000} value={rate} onChange={(event) => change(() => setRate(event.target.value))} />
        </div>
      </div>
      <div className="row">
        <button type="button" onClick={() => void showPreview()} disabled={busy !== null} aria-busy={busy === 'preview'}>
          Preview the notices
        </button>
      </div>
      {preview ? (
        <div className="notice-preview" aria-labelledby="preview-heading">
          <h3 id="preview-heading">Preview</h3>
          <p className="hint">Each mail as it would be sent, to a made-up recipient (Alex Example); the real reset link is made when the mail is sent.</p>
          {preview.segments.map((segment) => (
            <article key={segment.segment} className={`segment-preview segment-${segment.segment}`} aria-label={`${SEGMENT_LABELS[segment.segment]}: ${TEMPLATE_LABELS[segment.template]}`}>
              <h4>
                {SEGMENT_LABELS[segment.segment]}: {count(segment.people, 'person', 'people')} · {TEMPLATE_LABELS[segment.template]}
              </h4>
              {segment.alreadyQueued > 0 ? <p className="hint">{count(segment.alreadyQueued, 'notice')} already queued: only the rest are added.</p> : null}
              {segment.template === 'none' ? (
                <p className="hint">Nobody in this segment is mailed.</p>
              ) : (
                <SamplePreview sample={preview.samples.find((s) => s.template === segment.template)} label={SEGMENT_LABELS[segment.segment]} />
              )}
            </article>
          ))}
          {preview.adminReports ? (
            <article className="segment-preview" aria-label="Instance admins: report">
              <h4>
                Instance admins: {count(preview.adminReports.recipients, 'admin')} of {count(preview.adminReports.instances, 'instance')} · {TEMPLATE_LABELS['admin-report']}
              </h4>
              <SamplePreview sample={preview.samples.find((s) => s.template === 'admin-report')} label="Instance admins" />
            </article>
          ) : null}
          <div className="row">
            <button type="button" className="primary" onClick={() => void send()} disabled={busy !== null || toSend === 0} aria-busy={busy === 'send'}>
              {toSend === 0 ? 'Nothing to send' : `Send ${count(toSend, 'notice')}`}
            </button>
          </div>
        </div>
      ) : null}
    </section>
  );
};
