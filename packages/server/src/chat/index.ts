export { accessRoom, assertCanManage, type RoomAccess, type RoomNeed } from './room.access.ts';
export { registerChatRoutes } from './chat.routes.ts';
export { registerSearchRoutes } from './search.routes.ts';
export { sealChatInClear } from './chat.upgrade.ts';
export { createSearchIndexer, reindexRecentMessages, type SearchIndexer } from './search.indexer.ts';
export { deleteTerms } from './search.queries.ts';
export { listAuthorsOfRooms } from './room.queries.ts';
/** For integrations: a bot joins the room its webhook posts to (the room's members hear it join). */
export { addMember as addRoomMemberDirectly } from './room.actions.ts';
export { presentRoom } from './chat.presenter.ts';
export type { RoomRow } from './room.queries.ts';
export { postMessage, type MessageFiles, type PostOptions } from './message.actions.ts';
export { recordRoomRead } from './room.audit.ts';
export { addImportedMembers, importMessage, importRoom, type ImportedMessage } from './import.actions.ts';
export { mentionKey } from './mentions.ts';
