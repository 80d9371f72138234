import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Gateway } from '../realtime/index.ts';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** This node's realtime gateway (connection counts and delivery counters). */
    gateway: Gateway;
  }
}

/** The Fastify instance routes are registered on: request and reply types come from the TypeBox schemas. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression<RawServerDefault>,
  RawReplyDefaultExpression<RawServerDefault>,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;
