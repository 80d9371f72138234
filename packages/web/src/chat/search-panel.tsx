import type { SearchHit } from '@conclave/protocol';
import { useEffect, useState } from 'react';
import { api, describeError } from '../api.ts';
import { Link, pathTo } from '../router.tsx';
import { useChat } from './chat-context.tsx';
import { MessageBody } from './message-body.tsx';
import { displayName, formatFull, roomLabel } from './names.ts';

interface Results {
  results: SearchHit[];
  hasMore: boolean;
}

/** Messages holding every word of the query, newest first, in this instance's rooms you can read. */
export const SearchPanel = ({ instanceId, query, me, onClose }: { instanceId: string; query: string; me: string; onClose(): void }) => {
  const members = useChat((data) => data.members[instanceId]);
  const rooms = useChat((data) => data.state?.rooms);
  const [found, setFound] = useState<Results | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = (before?: string) => {
    setLoading(true);
    setError(null);
    const params = new URLSearchParams({ q: query, instanceId, ...(before ? { before } : {}) });
    api<Results>('GET', `/search?${params.toString()}`)
      .then((answer) => setFound((previous) => (before && previous ? { results: [...previous.results, ...answer.results], hasMore: answer.hasMore } : answer)))
      .catch((caught: unknown) => setError(describeError(caught)))
      .finally(() => setLoading(false));
  };

  useEffect(() => {
    setFound(null);
    load();
  }, [query, instanceId]);

  return (
    <section className="search-panel" aria-labelledby="search-title">
      <header className="room-header">
        <div className="room-title">
          <h1 id="search-title">Search: “{query}”</h1>
          <p className="topic">Messages with every word, newest first.</p>
        </div>
        <button type="button" className="small" onClick={onClose}>
          Close search
        </button>
      </header>
      <div className="message-scroller">
        {error ? <p role="alert" className="form-message error">{error}</p> : null}
        {found && found.results.length === 0 ? <p className="hint">No messages match.</p> : null}
        <ol className="search-results" aria-busy={loading}>
          {found?.results.map(({ message, room }) => {
            const mine = rooms?.[room.id];
            const where = mine ? roomLabel(mine, me, members) : room.name || 'a direct chat';
            return (
              <li key={message.id}>
                <Link to={`${pathTo('room', { roomId: room.id })}?message=${message.id}`} className="search-hit">
                  <span className="message-meta">
                    <span className="author">{displayName(members, message.authorId)}</span> in <strong>{where}</strong>{' '}
                    <time dateTime={message.createdAt}>{formatFull(message.createdAt)}</time>
                  </span>
                  <MessageBody body={message.body} members={members} me={me} />
                </Link>
              </li>
            );
          })}
        </ol>
        {found?.hasMore ? (
          <button type="button" className="small" disabled={loading} onClick={() => load(found.results.at(-1)?.message.id)}>
            {loading ? 'Loading…' : 'Older matches'}
          </button>
        ) : null}
        {loading && !found ? <p className="hint">Searching…</p> : null}
      </div>
    </section>
  );
};
