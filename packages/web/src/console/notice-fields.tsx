import type { IncidentDetail } from '@conclave/protocol';
import { useId, useState, type FormEvent } from 'react';
import { Field, FormMessage, SubmitButton } from '../components/form.tsx';
import { incidentsApi } from './console-api.ts';
import { useDescribeError } from './console-errors.ts';
import { listOf } from './console-format.ts';

const wholeOrNull = (value: string): number | null => {
  const n = Number.parseInt(value.trim(), 10);
  return Number.isFinite(n) && n >= 0 ? n : null;
};

/**
 * The breach notice's fields, which every notice quotes (and what a regulator's notification asks for):
 * editable as the investigation learns more, each change a timeline entry.
 */
export const NoticeFields = ({ detail, reload }: { detail: IncidentDetail; reload(): Promise<void> }) => {
  const describe = useDescribeError();
  const notice = detail.incident.notice;
  const ids = { what: useId(), consequences: useId(), measures: useId() };
  const [whatHappened, setWhatHappened] = useState(notice.whatHappened);
  const [categories, setCategories] = useState(notice.categories.join(', '));
  const [people, setPeople] = useState(notice.approxPeople === null ? '' : String(notice.approxPeople));
  const [records, setRecords] = useState(notice.approxRecords === null ? '' : String(notice.approxRecords));
  const [consequences, setConsequences] = useState(notice.consequences);
  const [measures, setMeasures] = useState(notice.measures);
  const [contact, setContact] = useState(notice.contact);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      await incidentsApi.update(detail.incident.ref, {
        notice: {
          whatHappened: whatHappened.trim(),
          categories: listOf(categories),
          approxPeople: wholeOrNull(people),
          approxRecords: wholeOrNull(records),
          consequences: consequences.trim(),
          measures: measures.trim(),
          contact: contact.trim(),
        },
      });
      setSaved('Notice saved: previews and mails not yet sent quote it from now on.');
      await reload();
    } catch (failure) {
      setError(describe(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <details className="notice-fields">
      <summary>The breach notice the mails quote</summary>
      <form onSubmit={(event) => void submit(event)} aria-label="The breach notice">
        <FormMessage>{error}</FormMessage>
        <FormMessage kind="success">{saved}</FormMessage>
        <div className="field">
          <label htmlFor={ids.what}>What happened</label>
          <textarea id={ids.what} value={whatHappened} onChange={(event) => setWhatHappened(event.target.value)} rows={3} />
        </div>
        <Field label="Information concerned (comma-separated)" value={categories} onChange={setCategories} autoComplete="off" />
        <div className="two-columns">
          <Field label="People concerned, roughly" type="number" inputMode="numeric" min={0} value={people} onChange={setPeople} />
          <Field label="Records concerned, roughly" type="number" inputMode="numeric" min={0} value={records} onChange={setRecords} />
        </div>
        <div className="field">
          <label htmlFor={ids.consequences}>Likely consequences</label>
          <textarea id={ids.consequences} value={consequences} onChange={(event) => setConsequences(event.target.value)} rows={2} />
        </div>
        <div className="field">
          <label htmlFor={ids.measures}>Measures taken</label>
          <textarea id={ids.measures} value={measures} onChange={(event) => setMeasures(event.target.value)} rows={2} />
        </div>
        <Field label="Contact" value={contact} onChange={setContact} autoComplete="off" />
        <SubmitButton busy={busy}>Save the notice</SubmitButton>
      </form>
    </details>
  );
};
