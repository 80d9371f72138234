import type { Room } from '@conclave/protocol';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, describeError, isApiError } from '../api.ts';
import { formatTime } from '../account/format.ts';
import { FormMessage } from '../components/form.tsx';
import { Section } from '../components/page-layout.tsx';
import { useResource } from '../components/use-resource.ts';
import { verifyCheckpointNote, type CheckpointCheck } from './checkpoint-verify.ts';
import type { MemberListing } from './members-section.tsx';

interface AuditEntry {
  seq: number;
  at: string;
  action: string;
  roomId: string | null;
  actorId: string | null;
  sessionId: string | null;
  detail: Record<string, unknown>;
}

interface Checkpoint {
  keyName: string;
  publicKey: string;
  size: number;
  rootHash: string;
  note: string;
  createdAt: string;
}

const PAGE = 50;

type Status = { kind: 'loading' } | { kind: 'ok'; checkpoint: Checkpoint; browser: CheckpointCheck } | { kind: 'problem'; message: string };

/** The log's state: the newest checkpoint, checked by the server and again here. */
const VerificationStatus = ({ instanceId }: { instanceId: string }) => {
  const [status, setStatus] = useState<Status>({ kind: 'loading' });
  useEffect(() => {
    let current = true;
    api<Checkpoint>('GET', `/instances/${instanceId}/audit/checkpoint`)
      .then(async (checkpoint) => {
        const browser = await verifyCheckpointNote(checkpoint.note, checkpoint.keyName, checkpoint.publicKey);
        if (current) setStatus({ kind: 'ok', checkpoint, browser });
      })
      .catch((caught: unknown) => {
        if (!current) return;
        if (isApiError(caught, 'AUDIT_NO_CHECKPOINT')) setStatus({ kind: 'problem', message: 'No signed checkpoint yet: the server signs one every few seconds; reload in a moment.' });
        else setStatus({ kind: 'problem', message: describeError(caught) });
      });
    return () => {
      current = false;
    };
  }, [instanceId]);

  if (status.kind === 'loading') return <p className="hint">Checking the audit log…</p>;
  if (status.kind === 'problem') return <FormMessage>{status.message}</FormMessage>;
  const { checkpoint, browser } = status;
  return (
    <div className={`verification ${browser.ok ? 'verified' : 'unverified'}`} role="status">
      <p>
        <strong>{browser.ok ? 'Verified' : 'Not verified in this browser'}</strong>: the log&apos;s newest checkpoint covers {checkpoint.size} entries, signed{' '}
        {formatTime(checkpoint.createdAt)}. The server checked its signature; {browser.ok ? 'this browser checked it again.' : browser.message}
      </p>
      <p className="hint">
        Log key <code>{checkpoint.keyName}</code> · root <code className="hash">{checkpoint.rootHash}</code>. Compare the key with your operator&apos;s; a full check of
        every entry is <code>conclave audit verify</code> on the server.
      </p>
    </div>
  );
};

/** Who read which rooms of the instance, and when: from the audit log, newest first, with filters. */
export const AccessReportSection = ({ instanceId, members }: { instanceId: string; members: MemberListing[] }) => {
  const rooms = useResource<{ rooms: Room[] }>(`/instances/${instanceId}/rooms/directory`);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [actorId, setActorId] = useState('');
  const [since, setSince] = useState('');
  const [filter, setFilter] = useState<{ actorId: string; since: string }>({ actorId: '', since: '' });
  const [busy, setBusy] = useState(false);

  const names = new Map(members.map((m) => [m.accountId, m.displayName]));
  const roomNames = new Map((rooms.data?.rooms ?? []).map((r) => [r.id, r.name]));

  const load = useCallback(
    (before: number | undefined) => {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (filter.actorId) query.set('actorId', filter.actorId);
    if (filter.since) query.set('since', new Date(filter.since).toISOString());
    if (before !== undefined) query.set('before', String(before));
    setBusy(true);
    setError(null);
    api<{ entries: AuditEntry[]; hasMore: boolean }>('GET', `/instances/${instanceId}/audit/access?${query.toString()}`)
      .then((answer) => {
        setEntries((now) => (before === undefined ? answer.entries : [...(now ?? []), ...answer.entries]));
        setHasMore(answer.hasMore);
      })
      .catch((caught: unknown) => setError(describeError(caught)))
      .finally(() => setBusy(false));
    },
    [instanceId, filter],
  );
  // Load again when the instance or the filter changes.
  useEffect(() => load(undefined), [load]);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilter({ actorId, since });
  };
  const last = entries?.[entries.length - 1];

  return (
    <Section title="Access report" description="Every read of this instance’s rooms is written to the tamper-evident audit log before it is served. Reading this report is recorded too.">
      <VerificationStatus instanceId={instanceId} />
      <form className="filters" onSubmit={apply}>
        <div className="field">
          <label htmlFor="report-actor">Person</label>
          <select id="report-actor" value={actorId} onChange={(event) => setActorId(event.target.value)}>
            <option value="">Everyone</option>
            {members.map((m) => (
              <option key={m.accountId} value={m.accountId}>
                {m.displayName}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="report-since">Since</label>
          <input id="report-since" type="datetime-local" value={since} onChange={(event) => setSince(event.target.value)} />
        </div>
        <button type="submit" className="small">
          Show
        </button>
      </form>
      <FormMessage>{error}</FormMessage>
      {entries === null && !error ? <p className="hint">Loading…</p> : null}
      {entries?.length === 0 ? <p className="hint">No reads recorded for this filter.</p> : null}
      {entries && entries.length > 0 ? (
        <div className="table-scroll">
          <table className="report">
            <caption className="visually-hidden">Reads of rooms, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Room</th>
                <th scope="col">What</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.seq}>
                  <td>{formatTime(entry.at)}</td>
                  <td>{entry.actorId ? (names.get(entry.actorId) ?? `Former member ${entry.actorId.slice(-6)}`) : 'The server'}</td>
                  <td>{entry.roomId ? (roomNames.get(entry.roomId) ?? `Private room ${entry.roomId.slice(-6)}`) : '—'}</td>
                  <td>{describeRead(entry.detail)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {hasMore && last ? (
        <button type="button" onClick={() => load(last.seq)} disabled={busy}>
          Older entries
        </button>
      ) : null}
    </Section>
  );
};

/** An entry's detail in words: what kind of read, how many messages. */
const describeRead = (detail: Record<string, unknown>): string => {
  const kind = typeof detail['kind'] === 'string' ? detail['kind'] : 'read';
  const count = typeof detail['count'] === 'number' ? detail['count'] : typeof detail['events'] === 'number' ? detail['events'] : undefined;
  return count === undefined ? kind : `${kind}, ${count} ${count === 1 ? 'item' : 'items'}`;
};
