import { Ajv, type ErrorObject } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import type { ErrorDetail } from '../errors.ts';

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsImport as unknown as { default?: AddFormats }).default ?? addFormatsImport) as unknown as AddFormats;

const makeAjv = (coerceTypes: boolean): Ajv => {
  // removeAdditional stays off: an unknown field is an error, never silently dropped.
  const ajv = new Ajv({ allErrors: true, coerceTypes, removeAdditional: false, useDefaults: false, strict: false, unicodeRegExp: true });
  addFormats(ajv);
  return ajv;
};

/** Bodies are typed exactly as sent (no coercion); path and query strings may be coerced to numbers. */
export const registerValidators = (app: FastifyInstance): void => {
  const bodyAjv = makeAjv(false);
  const stringAjv = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : stringAjv).compile(schema));
};

const PROBLEMS: Record<string, (error: ErrorObject) => string> = {
  required: () => 'is required',
  additionalProperties: () => 'is not a known field',
  pattern: () => 'contains characters that are not allowed here (control characters, or outside the allowed set)',
  maxLength: (e) => `must be at most ${String(e.params['limit'])} characters`,
  minLength: (e) => `must be at least ${String(e.params['limit'])} characters`,
  type: (e) => `must be ${String(e.params['type'])}`,
  format: (e) => `must be a valid ${String(e.params['format'])}`,
};

/** Ajv's errors as paths and plain problems, without ever echoing the submitted value. */
export const describeValidationErrors = (errors: ErrorObject[], part: string): ErrorDetail[] => {
  const seen = new Set<string>();
  const details: ErrorDetail[] = [];
  for (const error of errors) {
    let path = error.instancePath || '';
    if (error.keyword === 'required') path += `/${String(error.params['missingProperty'])}`;
    if (error.keyword === 'additionalProperties') path += `/${String(error.params['additionalProperty'])}`;
    const problem = PROBLEMS[error.keyword]?.(error) ?? (error.message ?? 'is not valid');
    const key = `${path}:${problem}`;
    if (seen.has(key)) continue;
    seen.add(key);
    details.push({ path: `${part}${path || ''}` || part, problem });
  }
  return details;
};
