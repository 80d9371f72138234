import { Type, type Static } from 'typebox';
import { LIMITS } from '../limits.ts';
import { DisplayName, Email, Id, Password, SingleLine, Timestamp } from './common.ts';
import { InstanceSlug, MyInstance } from './instances.ts';

export const SignupRequest = Type.Object(
  {
    email: Email,
    password: Password,
    displayName: DisplayName,
    instance: InstanceSlug,
    inviteToken: Type.Optional(SingleLine({ minLength: 1, maxLength: LIMITS.tokenMaxLength })),
  },
  { additionalProperties: false },
);
export type SignupRequest = Static<typeof SignupRequest>;

/** The same body whether or not the email already had an account: sign-up never tells. */
export const SignupResponse = Type.Object({
  status: Type.Literal('accepted'),
  next: Type.Literal('login'),
  message: Type.String(),
});

export const LoginMode = Type.Union([Type.Literal('cookie'), Type.Literal('bearer')]);

export const LoginRequest = Type.Object(
  {
    email: Email,
    password: Password,
    mode: Type.Optional(LoginMode),
  },
  { additionalProperties: false },
);
export type LoginRequest = Static<typeof LoginRequest>;

export const Account = Type.Object({
  id: Id,
  email: Type.String(),
  displayName: Type.String(),
  isOperator: Type.Boolean(),
  twoFactorEnabled: Type.Boolean(),
  createdAt: Timestamp,
  isBot: Type.Optional(Type.Boolean({ description: 'A bot account (an integration), owned by an instance admin.' })),
});
export type Account = Static<typeof Account>;

export const SessionInfo = Type.Object({
  id: Id,
  createdAt: Timestamp,
  expiresAt: Timestamp,
  idleExpiresAt: Timestamp,
});

export const LoginResponse = Type.Object({
  account: Account,
  session: SessionInfo,
  csrfToken: Type.Optional(Type.String({ description: 'Send as x-csrf-token on cookie-authenticated writes.' })),
  token: Type.Optional(Type.String({ description: 'Bearer token (mode "bearer" only); shown once.' })),
  passwordAdvice: Type.Optional(Type.String()),
});
export type LoginResponse = Static<typeof LoginResponse>;

export const MeResponse = Type.Object({
  account: Account,
  session: SessionInfo,
  instances: Type.Array(MyInstance),
  csrfToken: Type.Optional(Type.String()),
});
export type MeResponse = Static<typeof MeResponse>;

/** What you may change about yourself (your email changes through an admin-free flow not built yet). */
export const UpdateMeRequest = Type.Object({ displayName: DisplayName }, { additionalProperties: false });
export type UpdateMeRequest = Static<typeof UpdateMeRequest>;

export const ChangePasswordRequest = Type.Object(
  { currentPassword: Password, newPassword: Password },
  { additionalProperties: false },
);
export type ChangePasswordRequest = Static<typeof ChangePasswordRequest>;

export const Health = Type.Object({ status: Type.String() });

/** Ask for a reset link. The answer is the same whether or not the email has an account. */
export const PasswordResetRequest = Type.Object({ email: Email }, { additionalProperties: false });
export type PasswordResetRequest = Static<typeof PasswordResetRequest>;

export const PasswordResetResponse = Type.Object({
  status: Type.Literal('accepted'),
  message: Type.String(),
});

/** Set a new password with the token from the reset link (the part after #token=). */
export const PasswordResetConfirmRequest = Type.Object(
  {
    token: SingleLine({ minLength: 1, maxLength: LIMITS.tokenMaxLength, description: 'The token from the reset link.' }),
    newPassword: Password,
  },
  { additionalProperties: false },
);
export type PasswordResetConfirmRequest = Static<typeof PasswordResetConfirmRequest>;

export const PasswordResetConfirmResponse = Type.Object({
  status: Type.Literal('changed'),
  next: Type.Literal('login'),
  passwordAdvice: Type.Optional(Type.String()),
});

/** What a forced reset reached: accounts flagged (their sessions ended) and reset mails queued. */
export const ForcedResetResponse = Type.Object({
  accounts: Type.Integer({ minimum: 0 }),
  mailsQueued: Type.Integer({ minimum: 0 }),
});
export type ForcedResetResponse = Static<typeof ForcedResetResponse>;

export const AccountParams = Type.Object({ accountId: Id }, { additionalProperties: false });
