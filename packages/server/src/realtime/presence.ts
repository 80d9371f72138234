import type { PresenceStatus } from '@conclave/protocol';
import type { EventBus } from './event-bus.ts';

export interface PresenceDirectory {
  /** Online (not away) on any node, as last heard on the bus. */
  isOnline(accountId: string): boolean;
  statusOf(accountId: string): PresenceStatus;
  close(): void;
}

/**
 * Everyone's presence as the nodes report it on the bus: per account, the status each node last announced.
 * A node that dies without announcing leaves its entries until it comes back (noted in the chat issue).
 */
export const createPresenceDirectory = (bus: EventBus): PresenceDirectory => {
  const byAccount = new Map<string, Map<string, PresenceStatus>>();
  const unsubscribe = bus.subscribe((message) => {
    if (message.kind !== 'presence') return;
    for (const change of message.changes) {
      const nodes = byAccount.get(change.accountId) ?? new Map<string, PresenceStatus>();
      if (change.status === 'offline') nodes.delete(message.nodeId);
      else nodes.set(message.nodeId, change.status);
      if (nodes.size === 0) byAccount.delete(change.accountId);
      else byAccount.set(change.accountId, nodes);
    }
  });
  const statusOf = (accountId: string): PresenceStatus => {
    const nodes = byAccount.get(accountId);
    if (!nodes) return 'offline';
    return [...nodes.values()].includes('online') ? 'online' : 'away';
  };
  return { isOnline: (accountId) => statusOf(accountId) === 'online', statusOf, close: unsubscribe };
};
