import type { IncidentDetail } from '@conclave/protocol';
import { useCallback, useEffect, useState } from 'react';
import { FormMessage } from '../components/form.tsx';
import { Link, pathTo } from '../router.tsx';
import { incidentsApi } from './console-api.ts';
import { useDescribeError } from './console-errors.ts';
import { deadlineWords, formatTime } from './console-format.ts';
import { ContainSection } from './contain-section.tsx';
import { NotifySection } from './notify-section.tsx';
import { ProgressSection } from './progress-section.tsx';
import { PublishSection } from './publish-section.tsx';
import { ScopeSection } from './scope-section.tsx';
import { TimelineSection } from './timeline-section.tsx';
import { useNow } from './use-poll.ts';

const STEPS = [
  ['timeline', 'Timeline'],
  ['scope', 'Scope'],
  ['contain', 'Contain'],
  ['notify', 'Notify'],
  ['progress', 'Progress'],
  ['publish', 'Publish'],
] as const;

/**
 * One incident: its record and 72-hour clock, then the response in order (scope, contain, notify, follow the
 * progress, publish), each a section of one page; the timeline beside them.
 */
export const IncidentPage = ({ incidentRef }: { incidentRef: string }) => {
  const describe = useDescribeError();
  const now = useNow();
  const [detail, setDetail] = useState<IncidentDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Bumped when notices are queued: the progress section reloads at once.
  const [mailingsVersion, setMailingsVersion] = useState(0);

  const reload = useCallback(async () => {
    try {
      setDetail(await incidentsApi.show(incidentRef));
      setError(null);
    } catch (failure) {
      setError(describe(failure));
    }
  }, [incidentRef, describe]);

  useEffect(() => {
    void reload();
  }, [reload]);

  useEffect(() => {
    if (detail) document.title = `${detail.incident.ref}: ${detail.incident.title} · Conclave`;
  }, [detail]);

  if (!detail) {
    return (
      <div className="console-page">
        <p>
          <Link to={pathTo('incidents')}>All incidents</Link>
        </p>
        {error ? <FormMessage>{error}</FormMessage> : <p className="hint">Loading…</p>}
      </div>
    );
  }
  const { incident } = detail;
  return (
    <div className="console-page incident-page">
      <p className="crumbs">
        <Link to={pathTo('incidents')}>All incidents</Link>
      </p>
      <div className="incident-head">
        <h1>
          <span className="incident-ref">{incident.ref}</span> {incident.title}
        </h1>
        <p className="chips">
          <span className={`chip severity-${incident.severity.toLowerCase()}`}>{incident.severity}</span>
          <span className={`chip status-${incident.status}`}>{incident.status}</span>
          <span className="chip">{incident.publishedAt ? 'on the status page' : 'internal only'}</span>
        </p>
        <p className={`deadline ${Date.parse(incident.deadlineAt) < now && incident.status !== 'resolved' ? 'passed' : ''}`} role="status">
          {deadlineWords(incident.deadlineAt, now, incident.status === 'resolved')}
        </p>
        <p className="hint">
          Aware since {formatTime(incident.awareAt)} · declared {formatTime(incident.declaredAt)}
          {incident.components.length > 0 ? ` · components: ${incident.components.join(', ')}` : ''}
        </p>
        <FormMessage>{error}</FormMessage>
      </div>
      <nav className="step-nav" aria-label="Steps of the response">
        <ol>
          {STEPS.map(([id, label]) => (
            <li key={id}>
              <a href={`#${id}`}>{label}</a>
            </li>
          ))}
        </ol>
      </nav>
      <div className="incident-grid">
        <div className="incident-steps">
          <ScopeSection detail={detail} reload={reload} />
          <ContainSection detail={detail} reload={reload} />
          <NotifySection detail={detail} reload={reload} onQueued={() => setMailingsVersion((v) => v + 1)} />
          <ProgressSection incidentRef={incident.ref} version={mailingsVersion} />
          <PublishSection detail={detail} reload={reload} />
        </div>
        <TimelineSection detail={detail} reload={reload} />
      </div>
    </div>
  );
};
