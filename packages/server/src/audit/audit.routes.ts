import { AuditAccessQuery, AuditAccessReport, AuditCheckpoint, ErrorBody, InstanceParams } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { actorOf, createAuthGuard } from '../http/auth-guard.ts';
import type { App } from '../http/types.ts';
import { readAccessReport, readCurrentCheckpoint } from './audit.actions.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 500: ErrorBody, 503: ErrorBody };

export const registerAuditRoutes = (app: App, ctx: AppContext): void => {
  // Instance administration: an API token needs the admin scope.
  const guarded = { preHandler: [createAuthGuard(ctx, { scope: 'admin' })] };

  app.get(
    '/api/v1/instances/:instanceId/audit/access',
    {
      schema: { tags: ['audit'], summary: 'Who read which rooms of the instance, when (admins)', params: InstanceParams, querystring: AuditAccessQuery, response: { 200: AuditAccessReport, ...errors } },
      ...guarded,
    },
    async (request) => {
      const report = await readAccessReport(ctx, actorOf(request), request.params.instanceId, request.query);
      return {
        entries: report.entries.map((row) => ({
          seq: Number(row.seq),
          at: new Date(Number(row.at)).toISOString(),
          action: row.action,
          roomId: row.room_id,
          actorId: row.actor_id,
          sessionId: row.session_id,
          detail: JSON.parse(row.detail) as Record<string, unknown>,
        })),
        hasMore: report.hasMore,
      };
    },
  );

  app.get(
    '/api/v1/instances/:instanceId/audit/checkpoint',
    { schema: { tags: ['audit'], summary: 'The newest signed checkpoint of the audit log, checked (admins)', params: InstanceParams, response: { 200: AuditCheckpoint, ...errors } }, ...guarded },
    async (request) => {
      const row = await readCurrentCheckpoint(ctx, actorOf(request), request.params.instanceId);
      return { keyName: ctx.audit.keyName, publicKey: ctx.audit.publicKey.toString('base64'), size: Number(row.size), rootHash: row.root_hash, note: row.note, createdAt: new Date(Number(row.created_at)).toISOString() };
    },
  );
};
