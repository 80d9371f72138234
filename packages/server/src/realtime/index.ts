export { createLocalBus, createRedisBus, type Audience, type BusMessage, type EventBus, type RevokeScope } from './event-bus.ts';
export { createGateway, type Gateway } from './gateway.ts';
export { createPresenceDirectory, type PresenceDirectory } from './presence.ts';
