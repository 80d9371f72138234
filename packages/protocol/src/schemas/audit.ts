import { Type, type Static } from 'typebox';
import { Id, Timestamp } from './common.ts';

export const AuditAccessQuery = Type.Object(
  {
    roomId: Type.Optional(Id),
    actorId: Type.Optional(Id),
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    before: Type.Optional(Type.Integer({ minimum: 1, description: 'Only entries with a smaller sequence number (the last seq of the previous page).' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);
export type AuditAccessQuery = Static<typeof AuditAccessQuery>;

export const AuditEntry = Type.Object({
  seq: Type.Integer(),
  at: Timestamp,
  action: Type.String(),
  roomId: Type.Union([Id, Type.Null()]),
  actorId: Type.Union([Type.String(), Type.Null()]),
  sessionId: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Record(Type.String(), Type.Unknown()),
});

export const AuditAccessReport = Type.Object({
  entries: Type.Array(AuditEntry, { description: 'Newest first: every read of the instance\'s rooms.' }),
  hasMore: Type.Boolean(),
});

export const AuditCheckpoint = Type.Object({
  keyName: Type.String(),
  publicKey: Type.String({ description: 'Ed25519, base64.' }),
  size: Type.Integer(),
  rootHash: Type.String({ description: 'RFC 6962 Merkle root, hex.' }),
  note: Type.String({ description: 'The signed checkpoint (C2SP tlog-checkpoint).' }),
  createdAt: Timestamp,
});
