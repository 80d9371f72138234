export { ERROR_CATALOG, isErrorCode, type ErrorCode } from './errors.ts';
export { LIMITS } from './limits.ts';
export * from './schemas/common.ts';
export * from './schemas/auth.ts';
export * from './schemas/instances.ts';
export * from './schemas/chat.ts';
export { PRESENCE_SUBSCRIPTION_MAX, STREAM_CLOSE, type ChatEvent, type ClientFrame, type ControlFrame, type DurableEventType, type EphemeralEvent, type PresenceStatus, type ServerFrame } from './events.ts';
export { applyEvent, stateFromSnapshot, type ClientState } from './client-state.ts';
export * from './schemas/audit.ts';
