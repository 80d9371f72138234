import type { Incident } from '@conclave/protocol';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { Link, navigate, pathTo } from '../router.tsx';
import { incidentsApi } from './console-api.ts';
import { useDescribeError } from './console-errors.ts';
import { deadlineWords, formatTime, isoFromLocal, listOf } from './console-format.ts';
import { useNow } from './use-poll.ts';

type Severity = Incident['severity'];

/** The incidents, newest first, and the form that declares one. */
export const IncidentList = () => {
  const describe = useDescribeError();
  const now = useNow();
  const [incidents, setIncidents] = useState<Incident[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [declaring, setDeclaring] = useState(false);

  useEffect(() => {
    document.title = 'Incidents · Conclave';
    incidentsApi
      .list()
      .then((answer) => setIncidents(answer.incidents))
      .catch((failure: unknown) => setError(describe(failure)));
  }, [describe]);

  return (
    <div className="console-page">
      <div className="console-title">
        <h1>Incidents</h1>
        <button type="button" className="primary" onClick={() => setDeclaring((open) => !open)} aria-expanded={declaring} aria-controls="declare-form">
          Declare an incident
        </button>
      </div>
      {declaring ? <DeclareForm onCancel={() => setDeclaring(false)} /> : null}
      <FormMessage>{error}</FormMessage>
      {incidents === null && !error ? <p className="hint">Loading…</p> : null}
      {incidents && incidents.length === 0 ? <p>No incident has been declared on this server.</p> : null}
      {incidents && incidents.length > 0 ? (
        <ul className="incident-list">
          {incidents.map((incident) => (
            <li key={incident.id} className="incident-row">
              <Link to={pathTo('incident', { ref: incident.ref })} className="incident-link">
                <span className="incident-ref">{incident.ref}</span> {incident.title}
              </Link>
              <span className="chips">
                <span className={`chip severity-${incident.severity.toLowerCase()}`}>{incident.severity}</span>
                <span className={`chip status-${incident.status}`}>{incident.status}</span>
                {incident.publishedAt ? <span className="chip">on the status page</span> : null}
              </span>
              <span className="hint">
                Declared {formatTime(incident.declaredAt)} · {deadlineWords(incident.deadlineAt, now, incident.status === 'resolved')}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
};

const DeclareForm = ({ onCancel }: { onCancel(): void }) => {
  const describe = useDescribeError();
  const severityId = useId();
  const summaryId = useId();
  const whatId = useId();
  const consequencesId = useId();
  const measuresId = useId();
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState<Severity>('SEV2');
  const [awareAt, setAwareAt] = useState('');
  const [components, setComponents] = useState('');
  const [summary, setSummary] = useState('');
  const [whatHappened, setWhatHappened] = useState('');
  const [categories, setCategories] = useState('');
  const [consequences, setConsequences] = useState('');
  const [measures, setMeasures] = useState('');
  const [contact, setContact] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const aware = isoFromLocal(awareAt);
      const declared = await incidentsApi.declare({
        title: title.trim(),
        severity,
        ...(aware ? { awareAt: aware } : {}),
        ...(listOf(components).length > 0 ? { components: listOf(components) } : {}),
        ...(summary.trim() ? { summary: summary.trim() } : {}),
        notice: {
          whatHappened: whatHappened.trim(),
          categories: listOf(categories),
          consequences: consequences.trim(),
          measures: measures.trim(),
          contact: contact.trim(),
        },
      });
      navigate(pathTo('incident', { ref: declared.ref }));
    } catch (failure) {
      setError(describe(failure));
      setBusy(false);
    }
  };

  return (
    <form id="declare-form" className="panel declare-form" onSubmit={(event) => void submit(event)} aria-labelledby="declare-heading">
      <h2 id="declare-heading">Declare an incident</h2>
      <FormMessage>{error}</FormMessage>
      <Field label="Title" value={title} onChange={setTitle} required maxLength={200} autoComplete="off" />
      <div className="field">
        <label htmlFor={severityId}>Severity</label>
        <select id={severityId} value={severity} onChange={(event) => setSeverity(event.target.value as Severity)}>
          <option value="SEV1">SEV1: critical (data exposed, or the service down)</option>
          <option value="SEV2">SEV2: major</option>
          <option value="SEV3">SEV3: minor</option>
        </select>
      </div>
      <Field label="Aware since (leave empty for now)" type="datetime-local" value={awareAt} onChange={setAwareAt} hint="The 72-hour notification clock runs from this moment." />
      <Field label="Components (comma-separated)" value={components} onChange={setComponents} autoComplete="off" />
      <div className="field">
        <label htmlFor={summaryId}>First note (internal)</label>
        <textarea id={summaryId} value={summary} onChange={(event) => setSummary(event.target.value)} rows={3} />
      </div>
      <fieldset>
        <legend>Breach notice (the mails quote it; edit it later too)</legend>
        <div className="field">
          <label htmlFor={whatId}>What happened</label>
          <textarea id={whatId} value={whatHappened} onChange={(event) => setWhatHappened(event.target.value)} rows={3} />
        </div>
        <Field label="Information concerned (comma-separated)" value={categories} onChange={setCategories} autoComplete="off" hint="For example: chat messages, email addresses" />
        <div className="field">
          <label htmlFor={consequencesId}>Likely consequences</label>
          <textarea id={consequencesId} value={consequences} onChange={(event) => setConsequences(event.target.value)} rows={2} />
        </div>
        <div className="field">
          <label htmlFor={measuresId}>Measures taken</label>
          <textarea id={measuresId} value={measures} onChange={(event) => setMeasures(event.target.value)} rows={2} />
        </div>
        <Field label="Contact" value={contact} onChange={setContact} autoComplete="off" hint="Where people ask questions: an address or a page." />
      </fieldset>
      <div className="row">
        <SubmitButton busy={busy}>Declare</SubmitButton>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
};
