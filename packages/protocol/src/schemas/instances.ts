import { Type, type Static } from 'typebox';
import { LIMITS } from '../limits.ts';
import { DisplayName, Email, Id, Role, SingleLine, Timestamp } from './common.ts';

export const InstanceSlug = Type.String({
  pattern: '^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$',
  minLength: LIMITS.instanceSlugMinLength,
  maxLength: LIMITS.instanceSlugMaxLength,
  description: 'Lower-case letters, digits and inner hyphens; the instance\'s address.',
});

export const SignupMode = Type.Union([Type.Literal('open'), Type.Literal('invite')]);
export type SignupMode = 'open' | 'invite';

/** Who in an instance must use two-factor authentication before reaching it. */
export const TwoFactorRequirement = Type.Union([Type.Literal('off'), Type.Literal('admins'), Type.Literal('everyone')], {
  description: '"admins": owners and admins must have two-factor authentication on to enter the instance; "everyone": every member must.',
});
export type TwoFactorRequirement = 'off' | 'admins' | 'everyone';

export const InstanceName = SingleLine({ minLength: 1, maxLength: LIMITS.instanceNameMaxLength });

export const Instance = Type.Object({
  id: Id,
  slug: InstanceSlug,
  name: Type.String(),
  signupMode: SignupMode,
  twoFactorRequired: TwoFactorRequirement,
  createdAt: Timestamp,
});
export type Instance = Static<typeof Instance>;

export const MyInstance = Type.Object({
  id: Id,
  slug: Type.String(),
  name: Type.String(),
  role: Role,
  twoFactorRequired: TwoFactorRequirement,
});

export const CreateInstanceRequest = Type.Object(
  { slug: InstanceSlug, name: InstanceName, signupMode: Type.Optional(SignupMode), twoFactorRequired: Type.Optional(TwoFactorRequirement) },
  { additionalProperties: false },
);
export type CreateInstanceRequest = Static<typeof CreateInstanceRequest>;

export const UpdateInstanceRequest = Type.Object(
  { name: Type.Optional(InstanceName), signupMode: Type.Optional(SignupMode), twoFactorRequired: Type.Optional(TwoFactorRequirement) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateInstanceRequest = Static<typeof UpdateInstanceRequest>;

export const InstanceParams = Type.Object({ instanceId: Id }, { additionalProperties: false });
export const MemberParams = Type.Object({ instanceId: Id, accountId: Id }, { additionalProperties: false });

export const Member = Type.Object({
  accountId: Id,
  displayName: Type.String(),
  email: Type.Optional(Type.String({ description: 'Shown to admins only.' })),
  role: Role,
  joinedAt: Timestamp,
  isBot: Type.Optional(Type.Boolean({ description: 'A bot account (an integration): a bot or an incoming webhook.' })),
});
export const MemberList = Type.Object({ members: Type.Array(Member) });

export const SetRoleRequest = Type.Object({ role: Role }, { additionalProperties: false });

export const CreateInviteRequest = Type.Object(
  {
    email: Type.Optional(Email),
    role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('member')])),
    ttlHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 30 })),
  },
  { additionalProperties: false },
);
export type CreateInviteRequest = Static<typeof CreateInviteRequest>;

export const CreateInviteResponse = Type.Object({
  id: Id,
  token: Type.String({ description: 'Shown once; only its hash is stored.' }),
  role: Role,
  expiresAt: Timestamp,
});

export const SetupStatus = Type.Object({ required: Type.Boolean() });

export const SignupModeRequest = Type.Object({ signupMode: SignupMode }, { additionalProperties: false });

export const SetupRequest = Type.Object(
  {
    setupToken: SingleLine({ minLength: 1, maxLength: LIMITS.setupTokenMaxLength }),
    instance: Type.Object({ slug: InstanceSlug, name: InstanceName }, { additionalProperties: false }),
    owner: Type.Object(
      { email: Email, displayName: DisplayName, password: Type.String({ minLength: 1, maxLength: LIMITS.passwordMaxLength * 4 }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type SetupRequest = Static<typeof SetupRequest>;
