/**
 * The error catalog: every error Conclave answers with has a stable code from this table.
 * Codes are SCREAMING_SNAKE and never change meaning once shipped; the HTTP status lives here.
 */
export const ERROR_CATALOG = {
  // Request shape
  VALIDATION_FAILED: { status: 400, message: 'The request does not match the expected shape.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  INVALID_UTF8: { status: 400, message: 'The request body is not valid UTF-8.' },
  EMPTY_BODY: { status: 400, message: 'The request needs a JSON body.' },
  BAD_REQUEST: { status: 400, message: 'The request could not be understood.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as application/json.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'There is no such endpoint.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'That method is not allowed here.' },

  // Authentication and sessions
  CURRENT_PASSWORD_INCORRECT: { status: 400, message: 'The current password is not correct.' },
  EMAIL_TAKEN: { status: 409, message: 'An account with that email already exists.' },
  UNAUTHENTICATED: { status: 401, message: 'Log in to continue.' },
  INVALID_CREDENTIALS: { status: 401, message: 'That email and password do not match an account.' },
  CSRF_TOKEN_INVALID: { status: 403, message: 'Missing or invalid CSRF token; send the x-csrf-token header from /api/v1/me.' },
  ORIGIN_NOT_ALLOWED: { status: 403, message: 'Requests from this origin are not allowed.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do that.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; wait and try again.' },

  // Two-factor authentication (TOTP, RFC 6238)
  TWO_FACTOR_REQUIRED: { status: 401, message: 'Enter the code from your authenticator app, or a recovery code, to finish logging in.' },
  TWO_FACTOR_CHALLENGE_INVALID: { status: 401, message: 'This log-in step expired or was already used; log in with your password again.' },
  TWO_FACTOR_CODE_INVALID: { status: 400, message: 'That code is not valid, or was already used; wait for the next code and try again.' },
  TWO_FACTOR_ALREADY_ENABLED: { status: 409, message: 'Two-factor authentication is already on; turn it off first to set up a new authenticator.' },
  TWO_FACTOR_NOT_ENABLED: { status: 409, message: 'Two-factor authentication is not on for this account.' },
  TWO_FACTOR_SETUP_MISSING: { status: 409, message: 'Start with POST /api/v1/me/2fa/setup, then confirm with a code from the authenticator.' },
  TWO_FACTOR_ENROLLMENT_REQUIRED: { status: 403, message: 'This instance requires two-factor authentication: set it up under /api/v1/me/2fa, then come back.' },

  SESSION_NOT_FOUND: { status: 404, message: 'No such session among yours.' },

  // API tokens
  TOKEN_NOT_FOUND: { status: 404, message: 'No such API token among yours.' },
  TOKEN_SCOPE_MISSING: { status: 403, message: 'This API token does not have the scope this request needs.' },
  TOKEN_NOT_ALLOWED: { status: 403, message: 'API tokens cannot do this (tokens, sessions and passwords are managed from a logged-in session).' },
  TOKEN_LIMIT_REACHED: { status: 409, message: 'You have as many API tokens as an account may have; revoke one first.' },

  // Password resets
  PASSWORD_RESET_REQUIRED: { status: 403, message: 'This account\'s password must be reset before it can log in; a reset link has been emailed to its address.' },
  RESET_TOKEN_INVALID: { status: 400, message: 'This reset link is not valid; copy the whole link from the mail, or ask for a new one.' },
  RESET_TOKEN_USED: { status: 410, message: 'This reset link was already used; ask for a new one if you need it.' },
  RESET_TOKEN_EXPIRED: { status: 410, message: 'This reset link has expired; ask for a new one.' },

  // Passwords (NIST SP 800-63B)
  PASSWORD_TOO_SHORT: { status: 400, message: 'Use at least 8 characters; 15 or more is better.' },
  PASSWORD_TOO_LONG: { status: 400, message: 'Passwords can be at most 1024 characters.' },
  PASSWORD_TOO_COMMON: { status: 400, message: 'That password is on a list of common or breached passwords; choose another.' },
  PASSWORD_MATCHES_CONTEXT: { status: 400, message: 'The password must not be your email address or name.' },

  // Setup
  SETUP_ALREADY_DONE: { status: 409, message: 'This server is already set up.' },
  SETUP_TOKEN_INVALID: { status: 403, message: 'The setup token is wrong; use the one printed at start-up.' },

  // Instances and membership
  INSTANCE_NOT_FOUND: { status: 404, message: 'No such instance.' },
  INSTANCE_SLUG_TAKEN: { status: 409, message: 'That instance address is taken.' },
  SIGNUP_INVITE_REQUIRED: { status: 403, message: 'This instance is invite-only; ask an admin for an invite.' },
  INVITE_INVALID: { status: 400, message: 'The invite is invalid, used or expired.' },
  MEMBER_NOT_FOUND: { status: 404, message: 'No such member.' },
  LAST_OWNER: { status: 409, message: 'An instance must keep at least one owner.' },

  // Rooms and messages
  ROOM_NOT_FOUND: { status: 404, message: 'No such room.' },
  ROOM_NAME_TAKEN: { status: 409, message: 'A room with that name already exists in this instance.' },
  ROOM_ARCHIVED: { status: 409, message: 'This room is archived; unarchive it first.' },
  NOT_ROOM_MEMBER: { status: 403, message: 'Join the room first.' },
  ROOM_PRIVATE: { status: 403, message: 'Private rooms are joined by invitation.' },
  DIRECT_CHAT_FIXED: { status: 409, message: 'A direct chat always has exactly its two people.' },
  MESSAGE_NOT_FOUND: { status: 404, message: 'No such message.' },
  NOT_MESSAGE_AUTHOR: { status: 403, message: 'Only the author can edit a message.' },
  MESSAGE_DELETED: { status: 409, message: 'That message was deleted.' },
  ACCOUNT_NOT_FOUND: { status: 404, message: 'No such person in this instance.' },
  MESSAGE_RATE_LIMITED: { status: 429, message: 'You are posting too fast in this room; wait a moment.' },

  // Files (uploads, downloads, previews) and imports (issue 9, items 4 and 5)
  FILE_NOT_FOUND: { status: 404, message: 'No such file.' },
  FILE_TOO_LARGE: { status: 413, message: 'The file is larger than this instance allows.' },
  FILE_PART_MISSING: { status: 400, message: 'Send the file as a multipart/form-data part named "file" (one file; a "body" field may carry text).' },
  FILE_UPLOAD_INVALID: { status: 400, message: 'The upload is not valid multipart/form-data with one file part named "file" and at most a "body" field.' },
  IMPORT_ARCHIVE_INVALID: { status: 422, message: 'The export archive cannot be imported: it is not a readable zip export, or it holds entries that are unsafe or too large.' },

  // Search
  SEARCH_QUERY_EMPTY: { status: 400, message: 'Search for at least one word (letters or digits).' },
  SEARCH_TOO_MANY_WORDS: { status: 400, message: 'Search for at most 16 words at once.' },

  // Incidents
  INCIDENT_NOT_FOUND: { status: 404, message: 'No such incident.' },
  INCIDENT_SCOPE_NOT_FOUND: { status: 404, message: 'No such scope for this incident; compute one with conclave incident scope.' },
  MAILING_NOT_FOUND: { status: 404, message: 'No such mailing for this incident.' },
  INCIDENT_SCOPE_UNVERIFIED: { status: 409, message: 'The audit log does not verify, so no scope can be trusted from it; run conclave audit verify, or scope --unverified knowingly.' },
  CONTAINMENT_NOT_FOUND: { status: 404, message: 'No such containment for this incident.' },
  POSTMORTEM_DRAFT_MISSING: { status: 409, message: 'This incident has no postmortem to publish; write one first (PUT …/postmortem, or conclave incident postmortem INC-n --file FILE.md).' },

  // Operations: backup, restore, key export (the CLI)
  BACKUP_INVALID: { status: 422, message: 'This file is not a Conclave backup, or it is damaged or incomplete; make a new backup.' },
  BACKUP_ENGINE_MISMATCH: { status: 409, message: 'This backup was made on the other database engine; restore it onto the engine it came from (SQLite: no DATABASE_URL; PostgreSQL: DATABASE_URL set).' },
  BACKUP_KEYS_MISSING: { status: 409, message: 'The keys this backup needs are not in CONCLAVE_KEYS_DIR; import them first with conclave keys import FILE. Without them the backup cannot be read.' },
  RESTORE_TARGET_NOT_EMPTY: { status: 409, message: 'A restore goes onto an empty data directory (or an empty PostgreSQL schema) and a missing audit witness file; nothing was changed.' },
  BACKUP_TOOL_FAILED: { status: 500, message: 'An external tool the backup needs (pg_dump or pg_restore) is missing or failed; its message says why.' },
  KEY_EXPORT_UNREADABLE: { status: 422, message: 'The key export cannot be opened: the passphrase is wrong, or the file is not a Conclave key export or was altered.' },
  KEY_IMPORT_CONFLICT: { status: 409, message: 'CONCLAVE_KEYS_DIR already holds a different key of the same name; Conclave never overwrites a key. Import into an empty keys directory.' },
  KEYS_BESIDE_BACKUP: { status: 409, message: 'Keys and database backups must be kept apart: one place holding both is a breach waiting. Choose another directory (or --force, knowingly).' },

  // Integrations: incoming and outgoing webhooks, bots (issue 9; docs/decisions/0020)
  HOOK_NOT_FOUND: { status: 404, message: 'No such webhook. Check the URL: it holds a secret that was shown once, when the webhook was made.' },
  HOOK_REVOKED: { status: 410, message: 'This webhook was revoked by an admin and accepts nothing more; ask an admin of the room for a new one.' },
  HOOK_INVALID_PAYLOAD: { status: 400, message: 'The payload is not a webhook message: send a JSON object (application/json, or a form field named payload holding JSON).' },
  HOOK_NO_TEXT: { status: 400, message: 'The payload has nothing to post: give text, or attachments with a fallback, title or text, or blocks with text.' },
  HOOK_PAYLOAD_TOO_LARGE: { status: 413, message: 'The webhook payload is too large: at most 128 KiB, and the text it makes at most 10,000 characters.' },
  HOOK_RATE_LIMITED: { status: 429, message: 'This webhook is posting too fast; wait as long as Retry-After says.' },
  HOOK_LIMIT_REACHED: { status: 409, message: 'This room has as many webhooks of this kind as it may; revoke one first.' },
  HOOK_TARGET_INVALID: { status: 400, message: 'An outgoing webhook goes to an http:// or https:// URL with a host name and no user or password in it.' },
  HOOK_TARGET_PRIVATE: { status: 400, message: 'That URL leads to a private, local or reserved address, which outgoing webhooks may not reach on this server (WEBHOOK_ALLOW_PRIVATE_TARGETS).' },
  BOT_NOT_FOUND: { status: 404, message: 'No such bot in this instance.' },
  BOT_LIMIT_REACHED: { status: 409, message: 'This instance has as many bots as it may; remove one first.' },

  // Server side
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is temporarily unavailable.' },
  AUDIT_NO_CHECKPOINT: { status: 404, message: 'The audit log has no signed checkpoint yet; one is made every few seconds while the server serves.' },
  AUDIT_CHECKPOINT_INVALID: { status: 500, message: 'The newest audit checkpoint does not verify with the audit key; the operator must run conclave audit verify.' },
  AUDIT_UNAVAILABLE: { status: 503, message: 'The audit log cannot record this right now, so it was not done. Try again shortly.' },
  CONTENT_INTEGRITY_FAILED: { status: 500, message: 'Stored content failed its integrity check and was not shown; the operator can find which record in the server log.' },
  INTERNAL_ERROR: { status: 500, message: 'Something went wrong on our side.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const isErrorCode = (value: string): value is ErrorCode =>
  Object.prototype.hasOwnProperty.call(ERROR_CATALOG, value);
