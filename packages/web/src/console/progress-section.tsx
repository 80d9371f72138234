import type { IncidentProgress, MailingStatusList } from '@conclave/protocol';
import { useCallback, useEffect, useId, useState } from 'react';
import { FormMessage } from '../components/form.tsx';
import { incidentsApi, type ProgressBucket } from './console-api.ts';
import { useDescribeError } from './console-errors.ts';
import { formatTime, TARGET_LABELS, TEMPLATE_LABELS } from './console-format.ts';
import { ProgressChart } from './progress-chart.tsx';
import { usePoll } from './use-poll.ts';

type Mailing = MailingStatusList['mailings'][number];

const BUCKETS: Array<[ProgressBucket, string]> = [
  ['minute', 'Minutes'],
  ['5m', '5 minutes'],
  ['hour', 'Hours'],
  ['day', 'Days'],
];

const pending = (m: Mailing): boolean => m.status === 'queuing' || m.mails.queued > 0 || m.mails.sending > 0;

/**
 * The mailings and their delivery, and the chart of resets completed and notices delivered over time. Both
 * refresh every second while mails wait, then every 15 seconds (people keep resetting).
 */
export const ProgressSection = ({ incidentRef, version }: { incidentRef: string; version: number }) => {
  const describe = useDescribeError();
  const bucketId = useId();
  const [bucket, setBucket] = useState<ProgressBucket>('minute');
  const [mailings, setMailings] = useState<Mailing[] | null>(null);
  const [progress, setProgress] = useState<IncidentProgress | null>(null);
  const [loadedAt, setLoadedAt] = useState(() => Date.now());
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [list, figures] = await Promise.all([incidentsApi.mailings(incidentRef), incidentsApi.progress(incidentRef, bucket)]);
      setMailings(list.mailings);
      setProgress(figures);
      setLoadedAt(Date.now());
      setError(null);
    } catch (failure) {
      setError(describe(failure));
    }
  }, [incidentRef, bucket, describe]);

  useEffect(() => {
    void load();
  }, [load, version]);

  const busy = (mailings ?? []).some(pending) || (progress?.containments ?? []).some((c) => c.status === 'running');
  usePoll(load, busy ? 1_000 : 15_000, mailings !== null);

  const since = Math.min(loadedAt, ...(progress?.containments ?? []).map((c) => Date.parse(c.startedAt)), ...(mailings ?? []).map((m) => Date.parse(m.createdAt)));

  return (
    <section id="progress" className="panel" aria-labelledby="progress-heading" tabIndex={-1}>
      <h2 id="progress-heading">4. Progress</h2>
      <FormMessage>{error}</FormMessage>
      {mailings && mailings.length > 0 ? (
        <div className="table-wrap">
          <table className="mailings">
            <caption>Mailings</caption>
            <thead>
              <tr>
                <th scope="col">To</th>
                <th scope="col">Mail</th>
                <th scope="col">Delivered</th>
                <th scope="col">Waiting</th>
                <th scope="col">Failed</th>
              </tr>
            </thead>
            <tbody>
              {mailings.map((m) => (
                <tr key={m.id} data-mailing={m.target}>
                  <th scope="row">
                    {TARGET_LABELS[m.target]}
                    <span className="hint"> · {formatTime(m.createdAt)}</span>
                  </th>
                  <td>{m.subject ?? TEMPLATE_LABELS[m.template]}</td>
                  <td>
                    <progress value={m.mails.sent} max={Math.max(m.queued, 1)} aria-label={`${TARGET_LABELS[m.target]}: delivered`} />{' '}
                    <span className="delivered">
                      {m.mails.sent.toLocaleString('en-US')} of {m.queued.toLocaleString('en-US')}
                    </span>
                  </td>
                  <td>{(m.mails.queued + m.mails.sending).toLocaleString('en-US')}</td>
                  <td>{m.mails.failed.toLocaleString('en-US')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : mailings ? (
        <p className="hint">No notice has been queued yet.</p>
      ) : null}
      {progress ? (
        <>
          <div className="field narrow">
            <label htmlFor={bucketId}>Chart by</label>
            <select id={bucketId} value={bucket} onChange={(event) => setBucket(event.target.value as ProgressBucket)}>
              {BUCKETS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <ProgressChart progress={progress} since={since} now={loadedAt} />
          <details>
            <summary>The figures as a table</summary>
            <div className="table-wrap">
              <table>
                <caption>Cumulative, at the end of each {BUCKETS.find(([b]) => b === bucket)?.[1].toLowerCase().replace(/s$/, '')}</caption>
                <thead>
                  <tr>
                    <th scope="col">Until</th>
                    <th scope="col">Resets completed</th>
                    <th scope="col">Notices delivered</th>
                  </tr>
                </thead>
                <tbody>
                  {[...new Set([...progress.resets.series.map((p) => p.at), ...progress.notices.series.map((p) => p.at)])]
                    .sort()
                    .map((at) => (
                      <tr key={at}>
                        <th scope="row">{formatTime(at)}</th>
                        <td>{[...progress.resets.series].reverse().find((p) => p.at <= at)?.completed ?? 0}</td>
                        <td>{[...progress.notices.series].reverse().find((p) => p.at <= at)?.delivered ?? 0}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      ) : null}
    </section>
  );
};
