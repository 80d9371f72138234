export { registerBotRoutes } from './bot.routes.ts';
export { registerIncomingHookRoutes } from './incoming-hook.routes.ts';
export { registerOutgoingHookRoutes } from './outgoing-hook.routes.ts';
export { createDeliveryTap } from './outgoing-hook.actions.ts';
export { DELIVERY_DEFAULTS, backoffMs, createDeliveryWorker, type DeliveryWorker, type DeliveryWorkerOptions } from './delivery.worker.ts';
export { SIGNATURE_TOLERANCE_S, signatureOf, verifySignature } from './delivery.signature.ts';
export { listDeliveriesOfServer, listHooksForOperator, revokeHookByOperator, type HookSummary } from './hook.operator.ts';
