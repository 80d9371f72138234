import { Type, type Static } from 'typebox';
import { LIMITS } from '../limits.ts';
import { Id, SingleLine, Timestamp } from './common.ts';

/** One of your sessions, as you see it in your list. */
export const SessionListing = Type.Object({
  id: Id,
  device: Type.String({ description: 'The user agent summarized, e.g. "Firefox on Linux"; "Unknown device" without one.' }),
  userAgent: Type.Union([Type.String(), Type.Null()], { description: 'The user agent the session logged in with, as sent.' }),
  address: Type.Union([Type.String(), Type.Null()], { description: 'The client address the session logged in from.' }),
  createdAt: Timestamp,
  lastSeenAt: Timestamp,
  expiresAt: Timestamp,
  current: Type.Boolean({ description: 'The session making this request.' }),
});
export type SessionListing = Static<typeof SessionListing>;

export const SessionList = Type.Object({ sessions: Type.Array(SessionListing, { description: 'Newest first; only sessions that still work.' }) });

export const SessionParams = Type.Object({ sessionId: Id }, { additionalProperties: false });

export const EndedSessions = Type.Object({ ended: Type.Integer({ minimum: 0, description: 'How many sessions were ended.' }) });

/**
 * What an API token may do. `read`: rooms, messages, search, the stream. `write`: post, edit, react, join
 * and manage rooms. `admin`: instance administration its owner may do (settings, roles, invites, the audit
 * report). Scopes do not imply each other, and no token manages tokens, sessions or the password.
 */
export const TOKEN_SCOPES = ['read', 'write', 'admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
export const TokenScopeSchema = Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin')]);

export const TokenName = SingleLine({ minLength: 1, maxLength: LIMITS.apiTokenNameMaxLength, description: 'What the token is for, to recognize it in your list.' });

export const CreateApiTokenRequest = Type.Object(
  {
    name: TokenName,
    scopes: Type.Array(TokenScopeSchema, { minItems: 1, maxItems: TOKEN_SCOPES.length, uniqueItems: true }),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.apiTokenMaxDays, description: 'Omitted: the token does not expire (it still dies with a credential epoch).' })),
  },
  { additionalProperties: false },
);
export type CreateApiTokenRequest = Static<typeof CreateApiTokenRequest>;

export const ApiToken = Type.Object({
  id: Id,
  name: Type.String(),
  scopes: Type.Array(TokenScopeSchema),
  createdAt: Timestamp,
  lastUsedAt: Type.Union([Timestamp, Type.Null()], { description: 'Updated at most once a minute.' }),
  expiresAt: Type.Union([Timestamp, Type.Null()]),
});
export type ApiToken = Static<typeof ApiToken>;

export const CreateApiTokenResponse = Type.Intersect([
  ApiToken,
  Type.Object({ token: Type.String({ description: 'Send as "Authorization: Bearer <token>". Shown once; only its hash is stored.' }) }),
]);

export const ApiTokenList = Type.Object({ tokens: Type.Array(ApiToken, { description: 'Newest first; only tokens that still work.' }) });
export const ApiTokenParams = Type.Object({ tokenId: Id }, { additionalProperties: false });
