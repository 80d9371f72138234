import type { IncidentDetail, ScopeRequest } from '@conclave/protocol';
import { useId, useState, type FormEvent } from 'react';
import { FormMessage, SubmitButton } from '../components/form.tsx';
import { incidentsApi } from './console-api.ts';
import { useDescribeError } from './console-errors.ts';
import { SEGMENT_LABELS, SEGMENTS, formatTime, isoFromLocal, listOf } from './console-format.ts';

/**
 * The scope: who the verified audit log says was affected, possibly affected or not, with its counts per
 * segment; and the form that computes a new one from what the investigation knows about the attacker.
 */
export const ScopeSection = ({ detail, reload }: { detail: IncidentDetail; reload(): Promise<void> }) => {
  const { scope } = detail;
  return (
    <section id="scope" className="panel" aria-labelledby="scope-heading" tabIndex={-1}>
      <h2 id="scope-heading">1. Scope</h2>
      {scope ? (
        <>
          <p>
            Computed {formatTime(scope.createdAt)} from the audit log up to checkpoint {scope.checkpointSize.toLocaleString('en-US')}{' '}
            {scope.verified ? <span className="chip ok">log verified</span> : <span className="chip warn">log NOT verified</span>}
          </p>
          <div className="table-wrap">
            <table className="segment-table">
              <caption>People and instances per segment</caption>
              <thead>
                <tr>
                  <th scope="col">Segment</th>
                  <th scope="col">People</th>
                  <th scope="col">Instances</th>
                </tr>
              </thead>
              <tbody>
                {SEGMENTS.map((segment) => (
                  <tr key={segment} className={`segment-${segment}`}>
                    <th scope="row">{SEGMENT_LABELS[segment]}</th>
                    <td data-segment-people={segment}>{scope.counts.accounts[segment].toLocaleString('en-US')}</td>
                    <td>{scope.counts.instances[segment].toLocaleString('en-US')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="hint">
            {scope.counts.entriesMatched.toLocaleString('en-US')} log entries matched; {scope.counts.roomsRead.toLocaleString('en-US')} rooms read. People not listed
            anywhere are {SEGMENT_LABELS[scope.defaultSegment].toLowerCase()}. Root {scope.checkpointRoot.slice(0, 16)}…
          </p>
          {scope.instances.length > 0 ? (
            <div className="table-wrap">
              <table>
                <caption>Instances the incident touched</caption>
                <thead>
                  <tr>
                    <th scope="col">Instance</th>
                    <th scope="col">Segment</th>
                    <th scope="col">Rooms read</th>
                    <th scope="col">Affected</th>
                    <th scope="col">Possibly</th>
                  </tr>
                </thead>
                <tbody>
                  {scope.instances.map((instance) => (
                    <tr key={instance.instanceId}>
                      <th scope="row">{instance.slug ?? instance.instanceId}</th>
                      <td>{SEGMENT_LABELS[instance.segment]}</td>
                      <td>{instance.roomsRead}</td>
                      <td>{instance.affected}</td>
                      <td>{instance.possiblyAffected}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          <details>
            <summary>Compute the scope again</summary>
            <ScopeForm incidentRef={detail.incident.ref} reload={reload} />
          </details>
        </>
      ) : (
        <>
          <p>No scope yet. Name what the attacker used; the server verifies the audit log and sorts every person into a segment. Nothing else changes.</p>
          <ScopeForm incidentRef={detail.incident.ref} reload={reload} />
        </>
      )}
    </section>
  );
};

const ScopeForm = ({ incidentRef, reload }: { incidentRef: string; reload(): Promise<void> }) => {
  const describe = useDescribeError();
  const ids = { sessions: useId(), accounts: useId(), ips: useId(), instances: useId(), since: useId(), until: useId() };
  const [sessions, setSessions] = useState('');
  const [accounts, setAccounts] = useState('');
  const [ips, setIps] = useState('');
  const [instances, setInstances] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [everyone, setEveryone] = useState(false);
  const [allowUnverified, setAllowUnverified] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const request: ScopeRequest = everyone
      ? { everyone: true }
      : {
          ...(listOf(sessions).length > 0 ? { sessions: listOf(sessions) } : {}),
          ...(listOf(accounts).length > 0 ? { accounts: listOf(accounts) } : {}),
          ...(listOf(ips).length > 0 ? { ips: listOf(ips) } : {}),
          ...(listOf(instances).length > 0 ? { instances: listOf(instances) } : {}),
          ...(isoFromLocal(since) ? { since: isoFromLocal(since) } : {}),
          ...(isoFromLocal(until) ? { until: isoFromLocal(until) } : {}),
        };
    if (allowUnverified) request.allowUnverified = true;
    setBusy(true);
    setError(null);
    try {
      await incidentsApi.scope(incidentRef, request);
      await reload();
    } catch (failure) {
      setError(describe(failure));
    } finally {
      setBusy(false);
    }
  };

  const area = (id: string, label: string, value: string, set: (v: string) => void, hint: string) => (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} value={value} onChange={(event) => set(event.target.value)} rows={2} disabled={everyone} aria-describedby={`${id}-hint`} spellCheck={false} />
      <div id={`${id}-hint`} className="hint">
        {hint}
      </div>
    </div>
  );

  return (
    <form className="scope-form" onSubmit={(event) => void submit(event)} aria-label="Compute a scope">
      <FormMessage>{error}</FormMessage>
      <label className="check">
        <input type="checkbox" checked={everyone} onChange={(event) => setEveryone(event.target.checked)} /> Everyone is affected (a stolen database or backup: the log is not asked)
      </label>
      {area(ids.sessions, 'Session or API-token ids the attacker used', sessions, setSessions, 'One per line (audit query shows them).')}
      {area(ids.accounts, 'Accounts whose credentials were used', accounts, setAccounts, 'Account ids, one per line.')}
      {area(ids.ips, 'Client addresses', ips, setIps, 'IPv4 or IPv6, one per line.')}
      {area(ids.instances, 'Only in these instances', instances, setInstances, 'Instance ids, one per line; empty: all.')}
      <div className="two-columns">
        <div className="field">
          <label htmlFor={ids.since}>From</label>
          <input id={ids.since} type="datetime-local" value={since} onChange={(event) => setSince(event.target.value)} disabled={everyone} />
        </div>
        <div className="field">
          <label htmlFor={ids.until}>Until</label>
          <input id={ids.until} type="datetime-local" value={until} onChange={(event) => setUntil(event.target.value)} disabled={everyone} />
        </div>
      </div>
      <label className="check">
        <input type="checkbox" checked={allowUnverified} onChange={(event) => setAllowUnverified(event.target.checked)} /> Accept a log that does not verify (the scope says so for good)
      </label>
      <SubmitButton busy={busy}>Compute the scope</SubmitButton>
    </form>
  );
};
