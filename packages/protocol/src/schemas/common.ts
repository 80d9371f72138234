import { Type } from 'typebox';
import { LIMITS } from '../limits.ts';

/** No control characters, no lone surrogates, no line or paragraph separators: one line of text. */
export const SINGLE_LINE_PATTERN = '^[^\\p{Cc}\\p{Cs}\\u2028\\u2029]*$';
/** Text that may span lines: tabs and newlines allowed, other control characters not. */
export const MULTI_LINE_PATTERN = '^[^\\p{Cs}\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$';

export const SingleLine = (options: { minLength?: number; maxLength: number; description?: string }) =>
  Type.String({ pattern: SINGLE_LINE_PATTERN, minLength: options.minLength ?? 0, maxLength: options.maxLength, ...(options.description ? { description: options.description } : {}) });

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: LIMITS.emailMaxLength, description: 'An email address.' });

/** Length is checked by the password policy so the answer names the rule; the schema only bounds the size. */
export const Password = Type.String({ pattern: SINGLE_LINE_PATTERN, minLength: 1, maxLength: LIMITS.passwordMaxLength * 4, description: 'At least 8 characters, at most 1024; never truncated.' });

export const DisplayName = SingleLine({ minLength: 1, maxLength: LIMITS.displayNameMaxLength, description: 'How the person is shown to others.' });

export const Id = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', description: 'A UUIDv7.' });

export const Timestamp = Type.String({ format: 'date-time' });

export const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);
export type Role = 'owner' | 'admin' | 'member';

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    requestId: Type.Optional(Type.String()),
    details: Type.Optional(Type.Array(Type.Object({ path: Type.String(), problem: Type.String() }))),
  }),
});
