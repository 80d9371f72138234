import type { Incident, IncidentDetail, UpdateIncidentRequest } from '@conclave/protocol';
import { useId, useState, type FormEvent } from 'react';
import { FormMessage, SubmitButton } from '../components/form.tsx';
import { incidentsApi } from './console-api.ts';
import { useDescribeError } from './console-errors.ts';
import { formatTime } from './console-format.ts';

type Status = Incident['status'];
const STATUSES: Status[] = ['investigating', 'identified', 'contained', 'monitoring', 'resolved'];

/** The timeline (oldest first) and the form that adds to it: a note, a new status, public or internal. */
export const TimelineSection = ({ detail, reload }: { detail: IncidentDetail; reload(): Promise<void> }) => {
  const describe = useDescribeError();
  const noteId = useId();
  const statusId = useId();
  const [note, setNote] = useState('');
  const [status, setStatus] = useState<Status | ''>('');
  const [isPublic, setPublic] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: UpdateIncidentRequest = { ...(note.trim() ? { note: note.trim(), public: isPublic } : {}), ...(status ? { status } : {}) };
    if (Object.keys(body).length === 0) {
      setError('Write a note or choose a new status.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await incidentsApi.update(detail.incident.ref, body);
      setNote('');
      setStatus('');
      setPublic(false);
      await reload();
    } catch (failure) {
      setError(describe(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section id="timeline" className="panel timeline" aria-labelledby="timeline-heading" tabIndex={-1}>
      <h2 id="timeline-heading">Timeline</h2>
      <ol className="timeline-list">
        {detail.timeline.map((entry) => (
          <li key={entry.id} className={entry.public ? 'public' : ''}>
            <p className="timeline-meta">
              <time dateTime={entry.at}>{formatTime(entry.at)}</time> · {entry.kind}
              {entry.status ? ` → ${entry.status}` : ''}
              {entry.public ? <span className="chip">public</span> : null}
            </p>
            <p className="timeline-body">{entry.body}</p>
          </li>
        ))}
      </ol>
      <form onSubmit={(event) => void submit(event)} aria-labelledby="update-heading">
        <h3 id="update-heading">Add an update</h3>
        <FormMessage>{error}</FormMessage>
        <div className="field">
          <label htmlFor={noteId}>Note</label>
          <textarea id={noteId} value={note} onChange={(event) => setNote(event.target.value)} rows={3} />
        </div>
        <label className="check">
          <input type="checkbox" checked={isPublic} onChange={(event) => setPublic(event.target.checked)} /> Public (shown on the status page once the incident is published)
        </label>
        <div className="field">
          <label htmlFor={statusId}>New status</label>
          <select id={statusId} value={status} onChange={(event) => setStatus(event.target.value as Status | '')}>
            <option value="">Unchanged ({detail.incident.status})</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <SubmitButton busy={busy}>Add the update</SubmitButton>
      </form>
    </section>
  );
};
