import { ERROR_CATALOG, type ErrorCode } from '@conclave/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CiphertextError } from '../crypto/index.ts';
import { AppError, type ErrorDetail } from '../errors.ts';
import { describeValidationErrors } from './validation.ts';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

export const sendError = (
  reply: FastifyReply,
  code: ErrorCode,
  options: { message?: string; details?: ErrorDetail[] | undefined; headers?: Record<string, string> | undefined } = {},
): FastifyReply => {
  if (options.headers) for (const [name, value] of Object.entries(options.headers)) reply.header(name, value);
  return reply
    .code(ERROR_CATALOG[code].status)
    .type('application/json; charset=utf-8')
    .send({
      error: {
        code,
        message: options.message ?? ERROR_CATALOG[code].message,
        requestId: String(reply.request.id),
        ...(options.details && options.details.length > 0 ? { details: options.details } : {}),
      },
    });
};

/** Turns any error into the catalog shape. Only AppErrors speak for themselves; a 500 says nothing inside. */
export const handleError = (error: FastifyError | AppError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
  if (error instanceof AppError) {
    request.log.debug({ code: error.code }, 'request refused');
    return sendError(reply, error.code, { message: error.message, details: error.details, headers: error.headers });
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const part = fastifyError.validationContext ?? 'body';
    return sendError(reply, 'VALIDATION_FAILED', {
      details: describeValidationErrors(fastifyError.validation as Parameters<typeof describeValidationErrors>[0], part),
    });
  }
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return sendError(reply, mapped);
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    request.log.debug({ fastifyCode: fastifyError.code }, 'client error');
    return sendError(reply, status === 404 ? 'ROUTE_NOT_FOUND' : status === 405 ? 'METHOD_NOT_ALLOWED' : status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST');
  }
  if (error instanceof CiphertextError) {
    // Tampering, a row moved from elsewhere, or a lost key: never shown, always told to the operator.
    request.log.error({ field: error.field, recordId: error.recordId, reason: error.message }, 'stored ciphertext does not open');
    return sendError(reply, 'CONTENT_INTEGRITY_FAILED');
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(reply, 'INTERNAL_ERROR');
};

export const registerErrorHandling = (app: FastifyInstance): void => {
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((_request, reply) => sendError(reply, 'ROUTE_NOT_FOUND'));
};
