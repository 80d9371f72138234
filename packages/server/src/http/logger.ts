import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/config.ts';

/** Paths that may carry secrets; pino replaces them before anything is written. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  // Libraries log request headers of their own (@fastify/multipart logs busboy's options at trace level).
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-csrf-token"]',
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'setupToken',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.token',
  '*.setupToken',
];

/** A secret token in a path (an incoming webhook's URL carries one: /hooks/incoming/cnv_wh_…). */
const TOKEN_IN_PATH = /cnv_[a-z0-9]+_[A-Za-z0-9_-]{8,}/g;

const withoutQuery = (url: string | undefined): string | undefined => url?.split('?')[0]?.replace(TOKEN_IN_PATH, '[redacted]');

export const createLogger = (level: LogLevel, destination?: DestinationStream): Logger =>
  pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        // Query strings can carry tokens (reset links, HipChat's auth_token): log the path only, its tokens redacted.
        req: (req: { id?: string; method?: string; url?: string; ip?: string }) => ({ id: req.id, method: req.method, url: withoutQuery(req.url), ip: req.ip }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
