import { Link, pathTo, useRoute } from '../router.tsx';
import { statusPageUrl } from './console-api.ts';
import { IncidentList } from './incident-list.tsx';
import { IncidentPage } from './incident-page.tsx';
import './console.css';

/**
 * The incident console (operators; decision 0015, runbook breach-response.md): the incidents and one
 * incident's page. Loaded on demand (React.lazy in app.tsx), so the chat's initial JavaScript does not carry it.
 */
export const IncidentConsole = () => {
  const route = useRoute();
  const ref = route.route === 'incident' ? route.params['ref'] : undefined;
  return (
    <div className="console">
      <a className="skip-link" href="#console-main">
        Skip to the content
      </a>
      <header className="console-bar">
        <p className="console-brand">
          <Link to={pathTo('incidents')}>Incident console</Link>
        </p>
        <nav aria-label="Elsewhere" className="console-bar-links">
          <a href={statusPageUrl}>Public status page</a>
          <Link to={pathTo('home')}>Back to the chat</Link>
        </nav>
      </header>
      <main id="console-main" className="console-main" tabIndex={-1}>
        {ref ? <IncidentPage key={ref} incidentRef={ref} /> : <IncidentList />}
      </main>
    </div>
  );
};
