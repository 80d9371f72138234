export { ERROR_CATALOG, isErrorCode, type ErrorCode } from './errors.ts';
export { LIMITS } from './limits.ts';
export * from './schemas/common.ts';
export * from './schemas/auth.ts';
export * from './schemas/instances.ts';
