import { ERROR_CATALOG, isErrorCode, type ErrorCode } from '@conclave/protocol';

/** An answer of the API with an error code from the catalog (or NETWORK when the server was not reached). */
export class ApiError extends Error {
  readonly code: ErrorCode | 'NETWORK' | 'UNKNOWN';
  readonly status: number;
  readonly body: unknown;

  constructor(code: ErrorCode | 'NETWORK' | 'UNKNOWN', message: string, status: number, body: unknown) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.body = body;
  }
}

/** What to tell a person about an error: the server's own sentence, or the catalog's. */
export const describeError = (error: unknown): string => {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
};

let csrfToken: string | undefined;

/** The CSRF token of this session (from log-in or /api/v1/me): sent as x-csrf-token on every write. */
export const setCsrfToken = (token: string | undefined): void => {
  csrfToken = token;
};

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** JSON to and from /api/v1 with the session cookie. Errors throw ApiError with the catalog's code. */
export const api = async <T>(method: Method, path: string, body?: unknown): Promise<T> => {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError('NETWORK', 'The server cannot be reached; check your connection and try again.', 0, undefined);
  }
  return readAnswer<T>(response);
};

/** A multipart/form-data upload (a file) to /api/v1 with the session cookie; errors as api()'s. */
export const apiUpload = async <T>(path: string, form: FormData): Promise<T> => {
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method: 'POST',
      headers: { accept: 'application/json', ...(csrfToken ? { 'x-csrf-token': csrfToken } : {}) },
      credentials: 'same-origin',
      body: form,
    });
  } catch {
    throw new ApiError('NETWORK', 'The server cannot be reached; check your connection and try again.', 0, undefined);
  }
  return readAnswer<T>(response);
};

const readAnswer = async <T>(response: Response): Promise<T> => {
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code = error?.code && isErrorCode(error.code) ? error.code : 'UNKNOWN';
    const message = error?.message ?? (code !== 'UNKNOWN' ? ERROR_CATALOG[code].message : `The server answered ${response.status}.`);
    throw new ApiError(code, message, response.status, parsed);
  }
  return parsed as T;
};

export const isApiError = (error: unknown, ...codes: Array<ApiError['code']>): error is ApiError =>
  error instanceof ApiError && (codes.length === 0 || codes.includes(error.code));
