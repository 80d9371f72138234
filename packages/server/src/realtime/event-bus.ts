import type { ChatEvent, EphemeralEvent, PresenceStatus } from '@conclave/protocol';
import { Redis } from 'ioredis';

/** Who receives an event: a room's members, an instance's members, or one person. */
export type Audience =
  | { kind: 'room'; roomId: string; instanceId: string }
  | { kind: 'instance'; instanceId: string }
  | { kind: 'account'; accountId: string };

/** What ends sessions: their live sockets close on every node. */
export type RevokeScope =
  /** A session or an API token, by id. */
  | { kind: 'session'; sessionId: string }
  | { kind: 'account'; accountId: string; notBefore: number }
  | { kind: 'instance'; instanceId: string; notBefore: number }
  /** One person's access to one instance (an instance admin ended their sessions there). */
  | { kind: 'member'; instanceId: string; accountId: string; notBefore: number }
  | { kind: 'global'; notBefore: number }
  /**
   * Epochs changed in bulk (many accounts in one statement): each node re-validates every socket it holds
   * against the database and closes those whose session or token no longer stands.
   */
  | { kind: 'recheck' };

export type BusMessage =
  | { kind: 'event'; event: ChatEvent; audience: Audience; subjectId: string | null }
  | { kind: 'ephemeral'; event: EphemeralEvent; audience: Audience }
  | { kind: 'revoke'; scope: RevokeScope }
  | { kind: 'presence'; nodeId: string; changes: Array<{ accountId: string; status: PresenceStatus; instanceIds: string[] }> };

/** Carries committed events and revocations to every node's sockets (this one included). */
export interface EventBus {
  readonly kind: 'local' | 'redis';
  publish(messages: BusMessage[]): Promise<void>;
  subscribe(handler: (message: BusMessage) => void): () => void;
  close(): Promise<void>;
}

/** One process: handlers run on the next microtask, never inside the publisher's call. */
export const createLocalBus = (): EventBus => {
  const handlers = new Set<(message: BusMessage) => void>();
  return {
    kind: 'local',
    async publish(messages) {
      queueMicrotask(() => {
        for (const message of messages) for (const handler of handlers) handler(message);
      });
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      handlers.clear();
    },
  };
};

/** How a batch is sealed on the wire (AEAD under a key every node has): Redis sees no content and cannot forge. */
export interface BusCodec {
  encode(text: string): string;
  /** Throws for anything not sealed by a node of this deployment. */
  decode(text: string): string;
}

/**
 * Many processes: Redis pub/sub on one channel. A batch travels as one Redis message, sealed by the codec.
 * A node receives its own messages back through Redis, so delivery has one path whatever the sender.
 */
export const createRedisBus = async (url: string, channel: string, onError: (error: Error) => void, codec: BusCodec = { encode: (t) => t, decode: (t) => t }): Promise<EventBus> => {
  const publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  const subscriber = new Redis(url, { lazyConnect: true });
  publisher.on('error', onError);
  subscriber.on('error', onError);
  await publisher.connect();
  await subscriber.connect();
  const handlers = new Set<(message: BusMessage) => void>();
  subscriber.on('message', (_channel: string, data: string) => {
    let messages: BusMessage[];
    try {
      messages = JSON.parse(codec.decode(data)) as BusMessage[];
    } catch (error) {
      // Not ours (forged, or from another deployment sharing the channel), or corrupt: dropped.
      onError(error as Error);
      return;
    }
    for (const message of messages) for (const handler of handlers) handler(message);
  });
  await subscriber.subscribe(channel);
  return {
    kind: 'redis',
    async publish(messages) {
      if (messages.length > 0) await publisher.publish(channel, codec.encode(JSON.stringify(messages)));
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      handlers.clear();
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
};
