import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { AppError } from '../errors.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The only body parser: JSON, decoded as strict UTF-8 (Node's default decoding would silently turn
 * invalid bytes into U+FFFD) and parsed with prototype-poisoning protection. Errors never echo the body,
 * which may hold a password.
 */
export const parseJsonBody = (body: Buffer): unknown => {
  if (body.length === 0) throw new AppError('EMPTY_BODY');
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    throw new AppError('INVALID_UTF8');
  }
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new AppError('MALFORMED_JSON');
  }
};

export const registerJsonBodyParser = (app: FastifyInstance): void => {
  app.removeAllContentTypeParsers();
  // JSON is UTF-8 (RFC 8259): a charset parameter is accepted when it says so, as most HTTP clients send it;
  // another charset is refused (415) rather than decoded wrongly.
  app.addContentTypeParser(/^application\/([\w.-]+\+)?json\s*(;\s*charset="?utf-8"?\s*)?$/i, { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
};
