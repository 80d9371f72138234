export { createLocalBus, createRedisBus, type Audience, type BusMessage, type EventBus, type RevokeScope } from './event-bus.ts';
export { publishCommitted, recordEvents, type EventTap, type NewEvent, type PendingEvent } from './event.actions.ts';
export { currentSeq } from './event.queries.ts';
export { createGateway, type Gateway } from './gateway.ts';
export { registerStreamRoutes } from './stream.routes.ts';
export { createPresenceDirectory, type PresenceDirectory } from './presence.ts';
