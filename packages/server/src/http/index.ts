export { actorOf, checkOrigin, clearSessionCookie, createAuthGuard, readCredentials, sessionCookieName, sessionCookieOptions, setSessionCookie, type Credentials } from './auth-guard.ts';
export { handleError, registerErrorHandling, sendError } from './error-handler.ts';
export { parseJsonBody, registerJsonBodyParser } from './json-body.ts';
export { createLogger, REDACTED_PATHS } from './logger.ts';
export { bodyEmailKey, perAccountLimit, perIpLimit } from './rate-limits.ts';
export type { App } from './types.ts';
export { describeValidationErrors, registerValidators } from './validation.ts';
