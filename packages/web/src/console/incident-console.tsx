import { Component, type ReactNode } from 'react';
import { Link, pathTo, useRoute } from '../router.tsx';
import { statusPageUrl } from './console-api.ts';
import { IncidentList } from './incident-list.tsx';
import { IncidentPage } from './incident-page.tsx';
import './console.css';

/** A fault in one screen of the console says so, instead of blanking the page during an incident. */
class ConsoleBoundary extends Component<{ children: ReactNode }, { failed: string | null }> {
  override state = { failed: null as string | null };

  static getDerivedStateFromError(error: unknown): { failed: string } {
    return { failed: error instanceof Error ? error.message : 'Something went wrong.' };
  }

  override render(): ReactNode {
    if (this.state.failed === null) return this.props.children;
    return (
      <div className="form-message error" role="alert">
        This screen failed ({this.state.failed}). Reload the page; the server keeps every step that was taken.
      </div>
    );
  }
}

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
        <ConsoleBoundary key={ref ?? 'list'}>{ref ? <IncidentPage incidentRef={ref} /> : <IncidentList />}</ConsoleBoundary>
      </main>
    </div>
  );
};
