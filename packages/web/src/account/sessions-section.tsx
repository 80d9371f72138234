import type { SessionListing } from '@conclave/protocol';
import { useState } from 'react';
import { api, describeError } from '../api.ts';
import { FormMessage } from '../components/form.tsx';
import { Section } from '../components/page-layout.tsx';
import type { Resource } from '../components/use-resource.ts';
import { formatTime } from './format.ts';

/** Where your account is logged in: end one session, or all but this one. */
export const SessionsSection = ({ sessions }: { sessions: Resource<{ sessions: SessionListing[] }> }) => {
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const list = sessions.data?.sessions;
  const others = list?.filter((s) => !s.current).length ?? 0;

  const run = (work: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    work()
      .then(setNotice, (caught: unknown) => setError(describeError(caught)))
      .finally(() => {
        setBusy(false);
        sessions.reload();
      });
  };
  const endOne = (listing: SessionListing) =>
    run(async () => {
      await api('DELETE', `/me/sessions/${listing.id}`);
      return `The session on ${listing.device} is ended.`;
    });
  const endOthers = () =>
    run(async () => {
      const { ended } = await api<{ ended: number }>('POST', '/me/sessions/end-others');
      return ended === 1 ? 'One other session was ended.' : `${ended} other sessions were ended.`;
    });

  return (
    <Section title="Sessions" description="Every browser or app logged in to your account. A session you end is logged out at once, its open pages too.">
      <FormMessage>{error ?? sessions.error}</FormMessage>
      <FormMessage kind="success">{notice}</FormMessage>
      {list === undefined && !sessions.error ? <p className="hint">Loading…</p> : null}
      <ul className="item-list">
        {list?.map((listing) => (
          <li key={listing.id} className="item">
            <div className="item-main">
              <strong>{listing.device}</strong>
              {listing.current ? <span className="badge muted">This browser</span> : null}
              <p className="hint">
                {listing.address ? `From ${listing.address} · ` : ''}logged in {formatTime(listing.createdAt)} · last seen {formatTime(listing.lastSeenAt)}
              </p>
            </div>
            {listing.current ? null : (
              <button type="button" className="small danger" onClick={() => endOne(listing)} disabled={busy} aria-label={`End the session on ${listing.device}, last seen ${formatTime(listing.lastSeenAt)}`}>
                End
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" className="danger" onClick={endOthers} disabled={busy || others === 0}>
        End all other sessions
      </button>
    </Section>
  );
};
