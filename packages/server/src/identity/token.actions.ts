import { LIMITS, TOKEN_SCOPES, type CreateApiTokenRequest, type TokenScope } from '@conclave/protocol';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import type { Schema } from '../db/index.ts';
import { TOKEN_PREFIX, hashToken, newId, newSecretToken } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import type { AccountRow } from './account.queries.ts';
import { openAccount } from './account.seal.ts';
import { accountEpoch, auditActor, governingEpoch, publishRevocation, type SessionActor } from './session.actions.ts';
import {
  countApiTokens,
  deleteApiTokenOfAccount,
  deleteDeadApiTokens,
  findApiTokenByHash,
  insertApiToken,
  listLiveApiTokens,
  touchApiToken,
  type ApiTokenRow,
} from './token.queries.ts';

/** last_used_at is written at most this often per token, as sessions' last_seen_at is. */
export const TOKEN_TOUCH_INTERVAL_MS = 60_000;
const DAY_MS = 86_400_000;

const isScope = (value: string): value is TokenScope => (TOKEN_SCOPES as readonly string[]).includes(value);
export const scopesOf = (row: Pick<ApiTokenRow, 'scopes'>): TokenScope[] => row.scopes.split(' ').filter(isScope);

/** A token as its owner sees it: the name opened. */
export interface ApiTokenListing {
  row: ApiTokenRow;
  name: string;
  scopes: TokenScope[];
}

const openToken = (ctx: AppContext, row: ApiTokenRow): ApiTokenListing => ({
  row,
  name: ctx.keyring.server.open('api_tokens.name', row.id, row.name),
  scopes: scopesOf(row),
});

/**
 * Makes a personal API token; the token is returned once and only its SHA-256 is stored. Only a session makes
 * tokens (the routes refuse tokens), so a leaked token cannot mint others. Dead tokens are pruned first so they
 * do not count against the cap.
 */
export const createApiToken = async (ctx: AppContext, actor: SessionActor, input: CreateApiTokenRequest): Promise<{ token: string; listing: ApiTokenListing }> => {
  const name = input.name.trim();
  if (name === '') throw new AppError('VALIDATION_FAILED', { message: 'Name the token (what it is for).' });
  const now = ctx.now();
  const id = newId(now);
  const token = newSecretToken(TOKEN_PREFIX.apiToken);
  // The order of TOKEN_SCOPES, whatever the order asked: one spelling per set.
  const scopes = TOKEN_SCOPES.filter((scope) => input.scopes.includes(scope));
  const row: ApiTokenRow = {
    id,
    account_id: actor.account.id,
    name: ctx.keyring.server.seal('api_tokens.name', id, name),
    token_hash: hashToken(token),
    scopes: scopes.join(' '),
    created_at: now,
    last_used_at: null,
    expires_at: input.expiresInDays === undefined ? null : now + input.expiresInDays * DAY_MS,
  };
  const epoch = await accountEpoch(ctx, actor.account);
  await ctx.database.db.transaction().execute(async (trx) => {
    await deleteDeadApiTokens(trx, actor.account.id, now, epoch);
    if ((await countApiTokens(trx, actor.account.id)) >= LIMITS.apiTokensPerAccountMax) throw new AppError('TOKEN_LIMIT_REACHED');
    await insertApiToken(trx, row);
  });
  await ctx.audit.record({ action: 'token.create', ...auditActor(actor), detail: { tokenId: id, scopes, expiresAt: row.expires_at } });
  return { token, listing: { row, name, scopes } };
};

/**
 * Makes an API token for a bot (decision 0020): an instance admin holds it for the bot, which has no session
 * to make one with. Only its SHA-256 is stored; the caller shows the token once and audits the act.
 */
export const issueBotToken = async (ctx: AppContext, db: Kysely<Schema>, botAccountId: string, input: { name: string; scopes: readonly TokenScope[] }): Promise<{ token: string; tokenId: string }> => {
  const now = ctx.now();
  const id = newId(now);
  const token = newSecretToken(TOKEN_PREFIX.apiToken);
  await insertApiToken(db, {
    id,
    account_id: botAccountId,
    name: ctx.keyring.server.seal('api_tokens.name', id, input.name),
    token_hash: hashToken(token),
    scopes: TOKEN_SCOPES.filter((scope) => input.scopes.includes(scope)).join(' '),
    created_at: now,
    last_used_at: null,
    expires_at: null,
  });
  return { token, tokenId: id };
};

/** The actor's tokens that still work, newest first. */
export const listApiTokens = async (ctx: AppContext, actor: SessionActor): Promise<ApiTokenListing[]> =>
  (await listLiveApiTokens(ctx.database.db, actor.account.id, ctx.now(), await accountEpoch(ctx, actor.account))).map((row) => openToken(ctx, row));

/** Revokes one of the actor's tokens; its live sockets close. Someone else's token answers like a missing one. */
export const revokeApiToken = async (ctx: AppContext, actor: SessionActor, tokenId: string): Promise<void> => {
  if (!(await deleteApiTokenOfAccount(ctx.database.db, actor.account.id, tokenId))) throw new AppError('TOKEN_NOT_FOUND');
  // Sockets know their credential by id: a token's id closes them like a session's.
  await publishRevocation(ctx, { kind: 'session', sessionId: tokenId });
  await ctx.audit.record({ action: 'token.revoke', ...auditActor(actor), detail: { tokenId } });
};

export interface ResolvedApiToken {
  account: AccountRow;
  token: ApiTokenRow;
  scopes: TokenScope[];
}

/**
 * A token works while unexpired and not older than its account's or the server's credential epoch (instance
 * and membership epochs are checked where instances are accessed, as for sessions). Use is written and
 * audited at most once a minute per token.
 */
export const resolveApiToken = async (ctx: AppContext, token: string, client?: { ip: string; userAgent: string | undefined }): Promise<ResolvedApiToken | undefined> => {
  if (!token.startsWith(TOKEN_PREFIX.apiToken) || token.length > 200) return undefined;
  const found = await findApiTokenByHash(ctx.database.db, hashToken(token));
  if (!found) return undefined;
  const now = ctx.now();
  const row = found.token;
  if (row.expires_at !== null && row.expires_at <= now) return undefined;
  if (row.created_at < governingEpoch(found.account.not_before, found.globalNotBefore)) return undefined;
  const account = openAccount(ctx.keyring, found.account);
  if (now - (row.last_used_at ?? 0) >= TOKEN_TOUCH_INTERVAL_MS) {
    await touchApiToken(ctx.database.db, row.id, now);
    await ctx.audit.record({ action: 'token.use', actorId: account.id, sessionId: row.id, ip: client?.ip, userAgent: client?.userAgent, detail: { tokenId: row.id } });
    return { account, token: { ...row, last_used_at: now }, scopes: scopesOf(row) };
  }
  return { account, token: row, scopes: scopesOf(row) };
};
