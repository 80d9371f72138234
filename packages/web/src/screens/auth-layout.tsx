import { useEffect, type ReactNode } from 'react';

/** The frame of the pages before one is logged in: a narrow card with a title, links below. */
export const AuthLayout = ({ title, children, footer }: { title: string; children: ReactNode; footer?: ReactNode }) => {
  useEffect(() => {
    document.title = `${title} · Conclave`;
  }, [title]);
  return (
    <main className="auth">
      <div className="auth-card">
        <p className="brand" aria-hidden="true">
          Conclave
        </p>
        <h1>{title}</h1>
        {children}
      </div>
      {footer ? (
        <nav className="auth-footer" aria-label="Other ways in">
          {footer}
        </nav>
      ) : null}
    </main>
  );
};
