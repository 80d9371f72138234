export { accessRoom, assertCanManage, type RoomAccess, type RoomNeed } from './room.access.ts';
export { registerChatRoutes } from './chat.routes.ts';
