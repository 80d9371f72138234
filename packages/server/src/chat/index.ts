export { accessRoom, assertCanManage, type RoomAccess, type RoomNeed } from './room.access.ts';
export { registerChatRoutes } from './chat.routes.ts';
export { registerSearchRoutes } from './search.routes.ts';
export { sealChatInClear } from './chat.upgrade.ts';
export { createSearchIndexer, reindexRecentMessages, type SearchIndexer } from './search.indexer.ts';
export { deleteTerms } from './search.queries.ts';
export { listAuthorsOfRooms } from './room.queries.ts';
export { postMessage, type MessageFiles } from './message.actions.ts';
export { recordRoomRead } from './room.audit.ts';
