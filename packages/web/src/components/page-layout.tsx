import { useEffect, useId, type ReactNode } from 'react';
import { Link, pathTo, useRoute } from '../router.tsx';
import { useSession, type Me } from '../session.tsx';

/** The instances whose administration this person may open. */
export const administeredInstances = (me: Me): Me['instances'] => me.instances.filter((i) => i.role === 'admin' || i.role === 'owner');

/**
 * The frame of the pages beside the chat (your account, an instance's administration): a header with the way
 * back to the chat and to the other such pages, one column that reads at phone width.
 */
export const PageLayout = ({ title, me, children }: { title: string; me: Me; children: ReactNode }) => {
  const session = useSession();
  const route = useRoute();
  useEffect(() => {
    document.title = `${title} · Conclave`;
  }, [title]);
  const here = (path: string) => (route.path === path ? 'page' : undefined);
  return (
    <div className="page">
      <a className="skip-link" href="#page-main">
        Skip to the content
      </a>
      <header className="page-header">
        <Link to={pathTo('home')} className="back-to-chat">
          ← Back to the chat
        </Link>
        <nav aria-label="Settings" className="page-nav">
          <Link to={pathTo('account')} aria-current={here(pathTo('account'))}>
            My account
          </Link>
          {administeredInstances(me).map((instance) => {
            const path = pathTo('administration', { instanceId: instance.id });
            return (
              <Link key={instance.id} to={path} aria-current={here(path)}>
                Administration of {instance.name}
              </Link>
            );
          })}
        </nav>
        <button type="button" className="small ghost" onClick={() => void session.logOut()}>
          Log out
        </button>
      </header>
      <main id="page-main" className="page-main" tabIndex={-1}>
        <h1>{title}</h1>
        {children}
      </main>
    </div>
  );
};

/** One part of such a page, titled, for the landmarks list of a screen reader. */
export const Section = ({ title, children, description }: { title: string; children: ReactNode; description?: ReactNode }) => {
  const id = useId();
  return (
    <section className="panel" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {description ? <p className="hint">{description}</p> : null}
      {children}
    </section>
  );
};
