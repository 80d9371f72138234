import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/config.ts';

/** Paths that may carry secrets; pino replaces them before anything is written. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
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

const withoutQuery = (url: string | undefined): string | undefined => url?.split('?')[0];

export const createLogger = (level: LogLevel, destination?: DestinationStream): Logger =>
  pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        // Query strings can carry tokens (reset links): log the path only.
        req: (req: { id?: string; method?: string; url?: string; ip?: string }) => ({ id: req.id, method: req.method, url: withoutQuery(req.url), ip: req.ip }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
