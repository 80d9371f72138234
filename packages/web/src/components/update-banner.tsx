import type { UpdateStatus } from '@conclave/protocol';
import { useEffect, useState } from 'react';
import { api } from '../api.ts';
import type { Me } from '../session.tsx';

const DISMISSED_KEY = 'conclave.update-dismissed';
/** Checked again this often while the page stays open (the server checks its feed every few hours). */
const RECHECK_MS = 3_600_000;

/** Operators and instance admins act on releases; only they are shown them (the server refuses the rest). */
export const seesUpdates = (me: Me): boolean => me.account.isOperator || me.instances.some((instance) => instance.role === 'admin' || instance.role === 'owner');

const dismissedVersion = (): string | null => {
  try {
    return window.localStorage.getItem(DISMISSED_KEY);
  } catch {
    return null;
  }
};

/**
 * A banner telling operators and instance admins that a newer Conclave release exists, and whether it fixes a
 * security problem (from GET /api/v1/server/updates: the newest release feed whose signature verified).
 * Dismissed per version: a newer release shows it again.
 */
export const UpdateBanner = ({ me }: { me: Me }) => {
  const [status, setStatus] = useState<UpdateStatus | null>(null);
  const [dismissed, setDismissed] = useState<string | null>(dismissedVersion);
  const allowed = seesUpdates(me);

  useEffect(() => {
    if (!allowed) return;
    let stopped = false;
    const load = () =>
      api<UpdateStatus>('GET', '/server/updates').then(
        (answer) => !stopped && setStatus(answer),
        () => undefined,
      );
    void load();
    const timer = window.setInterval(load, RECHECK_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [allowed]);

  const latest = status?.latest;
  if (!allowed || !status?.updateAvailable || !latest || dismissed === latest.version) return null;
  const dismiss = () => {
    try {
      window.localStorage.setItem(DISMISSED_KEY, latest.version);
    } catch {
      // storage refused: dismissed for this page only
    }
    setDismissed(latest.version);
  };
  return (
    <aside className={status.security ? 'update-banner update-banner-security' : 'update-banner'} role={status.security ? 'alert' : 'status'} aria-label="Conclave update">
      <p>
        <strong>{status.security ? `Security release: Conclave ${latest.version}` : `Conclave ${latest.version} is available`}</strong>
        {status.security ? ` (severity ${status.severity})` : ''} — this server runs {status.currentVersion}. {latest.summary}{' '}
        <a href={latest.url} target="_blank" rel="noopener noreferrer">
          Release notes
        </a>
      </p>
      <button type="button" className="update-banner-dismiss" onClick={dismiss} aria-label="Dismiss the update notice">
        Dismiss
      </button>
    </aside>
  );
};
