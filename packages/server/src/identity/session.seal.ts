import type { Keyring } from '../crypto/index.ts';
import type { SessionRow } from './session.queries.ts';

/** Where and with what a session logged in, opened: a stolen database holds neither in clear. */
export interface SessionClient {
  ip: string | null;
  userAgent: string | null;
}

/** The client fields sealed under the server's data key, bound to the session id (a value moved to another row does not open). */
export const sealSessionClient = (keyring: Keyring, sessionId: string, client: { ip?: string | undefined; userAgent?: string | undefined } | undefined): Pick<SessionRow, 'ip' | 'user_agent'> => ({
  ip: client?.ip ? keyring.server.seal('sessions.ip', sessionId, client.ip) : null,
  user_agent: client?.userAgent ? keyring.server.seal('sessions.user_agent', sessionId, client.userAgent) : null,
});

export const openSessionClient = (keyring: Keyring, row: Pick<SessionRow, 'id' | 'ip' | 'user_agent'>): SessionClient => ({
  ip: row.ip === null ? null : keyring.server.open('sessions.ip', row.id, row.ip),
  userAgent: row.user_agent === null ? null : keyring.server.open('sessions.user_agent', row.id, row.user_agent),
});
