import type { Containment, ContainmentStep, ContainmentTarget, IncidentDetail } from '@conclave/protocol';
import { useCallback, useState, type FormEvent } from 'react';
import { FormMessage } from '../components/form.tsx';
import { incidentsApi } from './console-api.ts';
import { useDescribeError } from './console-errors.ts';
import { count, formatTime, SEGMENT_LABELS, STEP_LABELS, TARGET_LABELS } from './console-format.ts';
import { useNow, usePoll } from './use-poll.ts';

const ALL_STEPS: ContainmentStep[] = ['reset-passwords', 'end-sessions', 'rotate-keys'];

/** One containment's state in words and a bar. */
const STALLED_MS = 30_000;

const ContainmentRow = ({ containment, now, onResume }: { containment: Containment; now: number; onResume(c: Containment): void }) => {
  const running = containment.status === 'running';
  const stalled = running && now - Date.parse(containment.updatedAt) > STALLED_MS;
  return (
    <li className="containment" data-status={containment.status}>
      <p>
        <strong>{TARGET_LABELS[containment.target]}</strong>: {containment.steps.map((step) => STEP_LABELS[step]).join(', ')}
      </p>
      <progress value={running ? containment.done : 1} max={running ? Math.max(containment.total, 1) : 1} aria-label={`Containment of ${TARGET_LABELS[containment.target].toLowerCase()}`} />
      <p className="hint" role={running ? 'status' : undefined}>
        {running
          ? `Running: ${containment.step ? STEP_LABELS[containment.step].toLowerCase() : 'starting'}, ${containment.done.toLocaleString('en-US')} of ${containment.total.toLocaleString('en-US')}`
          : `Done ${containment.finishedAt ? formatTime(containment.finishedAt) : ''}`}{' '}
        · started {formatTime(containment.startedAt)}
      </p>
      {stalled ? (
        <p className="row">
          <span>No progress for a while: if the server restarted, resume it where it stopped (nothing is done twice).</span>
          <button type="button" className="small" onClick={() => onResume(containment)}>
            Resume
          </button>
        </p>
      ) : null}
    </li>
  );
};

/**
 * Containment: require new passwords, end sessions and tokens, rotate keys, for everyone or one segment of
 * the scope. The server runs it in chunks after answering; the page follows it until it is done.
 */
export const ContainSection = ({ detail, reload }: { detail: IncidentDetail; reload(): Promise<void> }) => {
  const describe = useDescribeError();
  const ref = detail.incident.ref;
  const scope = detail.scope;
  // Nothing chosen: the affected when there is a scope, otherwise no default (everyone is never assumed).
  const [choice, setTarget] = useState<ContainmentTarget | null>(null);
  const target: ContainmentTarget | null = choice ?? (scope ? 'affected' : null);
  const [steps, setSteps] = useState<ContainmentStep[]>(['reset-passwords', 'end-sessions']);
  const [reviewing, setReviewing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<Record<string, Containment>>({});
  const now = useNow(5_000);

  const containments = detail.containments.map((c) => live[c.id] ?? c);
  for (const c of Object.values(live)) if (!containments.some((known) => known.id === c.id)) containments.push(c);
  const running = containments.filter((c) => c.status === 'running');

  // Follow every running containment until it is done, then reload the incident (its status and timeline).
  const follow = useCallback(async () => {
    const answers = await Promise.all(running.map((c) => incidentsApi.containment(ref, c.id)));
    setLive((known) => ({ ...known, ...Object.fromEntries(answers.map((c) => [c.id, c])) }));
    if (answers.some((c) => c.status === 'done')) await reload();
  }, [running, ref, reload]);
  usePoll(follow, 500, running.length > 0);

  const resume = async (containment: Containment) => {
    setError(null);
    try {
      const resumed = await incidentsApi.contain(ref, { target: containment.target, steps: containment.steps, ...(containment.scopeId ? { scopeId: containment.scopeId } : {}) });
      setLive((known) => ({ ...known, [resumed.id]: resumed }));
    } catch (failure) {
      setError(describe(failure));
    }
  };

  const people = target === null || target === 'everyone' || !scope ? null : scope.counts.accounts[target];

  const start = async (event: FormEvent) => {
    event.preventDefault();
    if (target === null) return;
    if (!reviewing) {
      setReviewing(true);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const containment = await incidentsApi.contain(ref, { target, steps: ALL_STEPS.filter((s) => steps.includes(s)), ...(target !== 'everyone' && scope ? { scopeId: scope.id } : {}) });
      setLive((known) => ({ ...known, [containment.id]: containment }));
      setReviewing(false);
      await reload();
    } catch (failure) {
      setError(describe(failure));
    } finally {
      setBusy(false);
    }
  };

  const toggle = (step: ContainmentStep, on: boolean) => {
    setReviewing(false);
    setSteps((current) => (on ? [...current, step] : current.filter((s) => s !== step)));
  };

  return (
    <section id="contain" className="panel" aria-labelledby="contain-heading" tabIndex={-1}>
      <h2 id="contain-heading">2. Contain</h2>
      {containments.length > 0 ? <ul className="containments">{containments.map((c) => <ContainmentRow key={c.id} containment={c} now={now} onResume={(stuck) => void resume(stuck)} />)}</ul> : null}
      <form onSubmit={(event) => void start(event)} aria-label="Start a containment">
        <FormMessage>{error}</FormMessage>
        <fieldset className="choices">
          <legend>Who</legend>
          {(['affected', 'possibly_affected', 'not_affected', 'everyone'] as const).map((choice) => (
            <label key={choice}>
              <input
                type="radio"
                name="contain-target"
                value={choice}
                checked={target === choice}
                disabled={choice !== 'everyone' && !scope}
                onChange={() => {
                  setTarget(choice);
                  setReviewing(false);
                }}
              />{' '}
              {SEGMENT_LABELS[choice]}
              {choice !== 'everyone' && scope ? ` (${count(scope.counts.accounts[choice], 'person', 'people')})` : ''}
              {choice === 'everyone' ? ' (every account on the server, yours too)' : ''}
            </label>
          ))}
          {!scope ? <p className="hint">Compute a scope to contain one segment.</p> : null}
        </fieldset>
        <fieldset className="choices">
          <legend>What</legend>
          {ALL_STEPS.map((step) => (
            <label key={step}>
              <input type="checkbox" checked={steps.includes(step)} onChange={(event) => toggle(step, event.target.checked)} /> {STEP_LABELS[step]}
            </label>
          ))}
        </fieldset>
        {reviewing ? (
          <div className="form-message info" role="status">
            {STEP_LABELS[steps[0] ?? 'end-sessions']}
            {steps.length > 1 ? ` and ${steps.length - 1} more step${steps.length > 2 ? 's' : ''}` : ''} for {people === null ? 'every account on the server' : count(people, 'person', 'people')}. Their open
            pages and apps are signed out within a second. This cannot be undone.
          </div>
        ) : null}
        <div className="row">
          <button type="submit" className={reviewing ? 'primary danger-fill' : 'primary'} disabled={busy || steps.length === 0 || target === null} aria-busy={busy}>
            {reviewing ? 'Start the containment' : 'Review the containment'}
          </button>
          {reviewing ? (
            <button type="button" onClick={() => setReviewing(false)}>
              Cancel
            </button>
          ) : null}
        </div>
      </form>
    </section>
  );
};
