import { Type, type Static } from 'typebox';
import { ErrorBody, Password, SingleLine, Timestamp } from './common.ts';
import { LoginMode } from './auth.ts';

/** The six digits an authenticator app shows (RFC 6238, 30-second steps). */
export const TotpCode = Type.String({ pattern: '^[0-9]{6}$', description: 'The 6-digit code from the authenticator app.' });

/** A recovery code as shown (groups separated by hyphens); case, spaces and hyphens are ignored. */
export const RecoveryCode = SingleLine({ minLength: 1, maxLength: 64, description: 'One of the recovery codes shown when two-factor authentication was turned on; each works once.' });

export const TwoFactorStatus = Type.Object({
  enabled: Type.Boolean(),
  enabledAt: Type.Optional(Timestamp),
  /** A setup was started and awaits its confirming code. */
  pending: Type.Boolean(),
  recoveryCodesLeft: Type.Integer({ minimum: 0 }),
});
export type TwoFactorStatus = Static<typeof TwoFactorStatus>;

export const TwoFactorSetupRequest = Type.Object({ password: Password }, { additionalProperties: false });
export type TwoFactorSetupRequest = Static<typeof TwoFactorSetupRequest>;

export const TwoFactorSetupResponse = Type.Object({
  secret: Type.String({ description: 'Base32; for typing into an authenticator by hand. Shown once.' }),
  otpauthUri: Type.String({ description: 'otpauth://totp/… for a QR code the client renders. Shown once.' }),
  algorithm: Type.Literal('SHA1'),
  digits: Type.Literal(6),
  period: Type.Literal(30),
});
export type TwoFactorSetupResponse = Static<typeof TwoFactorSetupResponse>;

export const TwoFactorEnableRequest = Type.Object({ code: TotpCode }, { additionalProperties: false });

export const RecoveryCodesResponse = Type.Object({
  recoveryCodes: Type.Array(Type.String(), { description: 'Shown once; only their hashes are stored. Each works once.' }),
});
export type RecoveryCodesResponse = Static<typeof RecoveryCodesResponse>;

/** The password and one second factor: a current code or an unused recovery code (exactly one). */
export const TwoFactorProofRequest = Type.Object(
  { password: Password, code: Type.Optional(TotpCode), recoveryCode: Type.Optional(RecoveryCode) },
  { additionalProperties: false },
);
export type TwoFactorProofRequest = Static<typeof TwoFactorProofRequest>;

/** The second step of a log-in: the challenge from the first step and one second factor (exactly one). */
export const LoginSecondStepRequest = Type.Object(
  {
    challenge: SingleLine({ minLength: 1, maxLength: 256, description: 'The challenge token from the TWO_FACTOR_REQUIRED answer.' }),
    code: Type.Optional(TotpCode),
    recoveryCode: Type.Optional(RecoveryCode),
    mode: Type.Optional(LoginMode),
  },
  { additionalProperties: false },
);
export type LoginSecondStepRequest = Static<typeof LoginSecondStepRequest>;

export const LoginChallenge = Type.Object({
  token: Type.String({ description: 'Send it to POST /api/v1/auth/login/2fa with a code; works once, for a few minutes.' }),
  expiresAt: Timestamp,
  methods: Type.Array(Type.Union([Type.Literal('totp'), Type.Literal('recovery_code')])),
});

/** The log-in answer when the password was right and a second factor is needed (401 TWO_FACTOR_REQUIRED). */
export const LoginErrorBody = Type.Object({
  error: ErrorBody.properties.error,
  challenge: Type.Optional(LoginChallenge),
});
export type LoginErrorBody = Static<typeof LoginErrorBody>;
