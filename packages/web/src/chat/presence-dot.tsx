import type { PresenceStatus } from '@conclave/protocol';
import { useChat } from './chat-context.tsx';

const LABEL: Record<PresenceStatus, string> = { online: 'online', away: 'away', offline: 'offline' };

/** A coloured dot with its status in words for screen readers. */
export const PresenceDot = ({ accountId, status }: { accountId: string; status?: PresenceStatus | undefined }) => {
  const known = useChat((data) => data.presence[accountId]);
  const value = status ?? known ?? 'offline';
  return (
    <span className={`presence presence-${value}`} title={LABEL[value]}>
      <span className="visually-hidden">({LABEL[value]})</span>
    </span>
  );
};
