import { Type, type Static } from 'typebox';
import { LIMITS } from '../limits.ts';
import { Id, SingleLine, Timestamp } from './common.ts';
import { TokenScopeSchema } from './sessions.ts';

/** Integrations (docs/decisions/0020, docs/integrations.md): incoming webhooks, outgoing webhooks, bots. */

export const HookName = SingleLine({ minLength: 1, maxLength: LIMITS.hookNameMaxLength, description: 'Shown as the poster of what the hook posts, unless a payload names another.' });

export const IncomingHook = Type.Object({
  id: Id,
  roomId: Id,
  name: Type.String(),
  botAccountId: Id,
  createdBy: Id,
  createdAt: Timestamp,
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});
export type IncomingHook = Static<typeof IncomingHook>;

export const CreateIncomingHookRequest = Type.Object({ name: HookName }, { additionalProperties: false });
export type CreateIncomingHookRequest = Static<typeof CreateIncomingHookRequest>;

export const CreateIncomingHookResponse = Type.Intersect([
  IncomingHook,
  Type.Object({
    token: Type.String({ description: 'The secret, shown once; only its SHA-256 is kept.' }),
    url: Type.String({ description: 'Slack-compatible URL: POST a Slack message payload here.' }),
    hipchatUrl: Type.String({ description: 'HipChat-compatible room notification URL; authenticate with Authorization: Bearer <token> or ?auth_token=.' }),
  }),
]);
export type CreateIncomingHookResponse = Static<typeof CreateIncomingHookResponse>;

export const IncomingHookList = Type.Object({ hooks: Type.Array(IncomingHook, { description: 'Newest first, revoked ones included.' }) });

/** What an outgoing webhook hears: messages (matching its pattern), people entering or leaving, topic changes, archiving. */
export const OUTGOING_EVENTS = ['message', 'member', 'topic', 'archive'] as const;
export type OutgoingEvent = (typeof OUTGOING_EVENTS)[number];
export const OutgoingEventSchema = Type.Union([Type.Literal('message'), Type.Literal('member'), Type.Literal('topic'), Type.Literal('archive')]);

export const OutgoingHook = Type.Object({
  id: Id,
  roomId: Id,
  name: Type.String(),
  url: Type.String(),
  events: Type.Array(OutgoingEventSchema),
  pattern: Type.Union([Type.String(), Type.Null()], { description: 'Messages are sent only when their text contains this (ignoring case); null: every message.' }),
  createdBy: Id,
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});
export type OutgoingHook = Static<typeof OutgoingHook>;

export const CreateOutgoingHookRequest = Type.Object(
  {
    name: HookName,
    url: Type.String({ minLength: 1, maxLength: LIMITS.hookUrlMaxLength, description: 'http:// or https://; private addresses only where the operator allows them.' }),
    events: Type.Array(OutgoingEventSchema, { minItems: 1, maxItems: OUTGOING_EVENTS.length, uniqueItems: true }),
    pattern: Type.Optional(SingleLine({ minLength: 1, maxLength: LIMITS.hookPatternMaxLength })),
  },
  { additionalProperties: false },
);
export type CreateOutgoingHookRequest = Static<typeof CreateOutgoingHookRequest>;

export const CreateOutgoingHookResponse = Type.Intersect([
  OutgoingHook,
  Type.Object({ secret: Type.String({ description: 'The signing secret, shown once: verify X-Conclave-Signature with it (docs/integrations.md).' }) }),
]);
export type CreateOutgoingHookResponse = Static<typeof CreateOutgoingHookResponse>;

export const OutgoingHookList = Type.Object({ hooks: Type.Array(OutgoingHook, { description: 'Newest first, revoked ones included.' }) });

export const DeliveryStatusSchema = Type.Union([Type.Literal('queued'), Type.Literal('sending'), Type.Literal('delivered'), Type.Literal('failed')]);

export const HookDelivery = Type.Object({
  id: Id,
  hookId: Id,
  event: Type.String({ description: 'The event type sent, e.g. message.created.' }),
  status: DeliveryStatusSchema,
  attempts: Type.Integer(),
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastLatencyMs: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Timestamp,
  nextAttemptAt: Type.Union([Timestamp, Type.Null()], { description: 'When the next attempt is due; null once delivered or failed.' }),
  deliveredAt: Type.Union([Timestamp, Type.Null()]),
});
export type HookDelivery = Static<typeof HookDelivery>;

export const HookDeliveryList = Type.Object({ deliveries: Type.Array(HookDelivery, { description: 'Newest first.' }) });
export const HookDeliveryQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.deliveryLogPageMax })) },
  { additionalProperties: false },
);

export const RoomHookParams = Type.Object({ roomId: Id, hookId: Id }, { additionalProperties: false });
export const SlackHookParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const HipChatParams = Type.Object({ room: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const HipChatQuery = Type.Object({ auth_token: Type.Optional(Type.String({ maxLength: 200 })) });

export const Bot = Type.Object({
  id: Id,
  instanceId: Id,
  displayName: Type.String(),
  ownerId: Id,
  isBot: Type.Literal(true),
  createdAt: Timestamp,
});
export type Bot = Static<typeof Bot>;

export const CreateBotRequest = Type.Object(
  {
    displayName: SingleLine({ minLength: 1, maxLength: LIMITS.displayNameMaxLength }),
    scopes: Type.Array(TokenScopeSchema, { minItems: 1, maxItems: 3, uniqueItems: true, description: 'What the bot\'s token may do: read, write, admin.' }),
  },
  { additionalProperties: false },
);
export type CreateBotRequest = Static<typeof CreateBotRequest>;

export const CreateBotResponse = Type.Object({
  bot: Bot,
  token: Type.String({ description: 'The bot\'s API token (cnv_pat_…), shown once: send it as Authorization: Bearer.' }),
});
export const BotList = Type.Object({ bots: Type.Array(Bot) });
export const BotParams = Type.Object({ instanceId: Id, botId: Id }, { additionalProperties: false });
