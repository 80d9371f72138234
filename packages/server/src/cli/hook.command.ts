import type { Command } from 'commander';
import type { DeliveryStatus } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { listDeliveriesOfServer, listHooksForOperator, revokeHookByOperator } from '../integrations/index.ts';
import { runCommand, withServices } from './run.ts';

const STATUSES: readonly DeliveryStatus[] = ['queued', 'sending', 'delivered', 'failed'];
const iso = (at: number | null): string => (at === null ? '-' : new Date(at).toISOString());
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const print = (rows: Array<Record<string, unknown>>, json: boolean, empty: string): void => {
  if (json) for (const row of rows) console.log(JSON.stringify(row));
  else if (rows.length === 0) console.log(empty);
  else console.table(rows);
};

export const registerHookCommand = (program: Command): void => {
  const hook = program.command('hook').description('Webhooks: list them, read the outgoing delivery log, revoke one (docs/integrations.md)');

  hook
    .command('list')
    .description('Every incoming and outgoing webhook, newest first (never a URL token or a secret; outgoing: the host only)')
    .option('--instance <id>', 'only this instance')
    .option('--json', 'print JSON lines', false)
    .action((options: { instance?: string; json: boolean }) =>
      runCommand(async () => {
        if (options.instance !== undefined && !UUID.test(options.instance)) throw new AppError('VALIDATION_FAILED', { message: '--instance is an instance id (a UUID).' });
        await withServices(async (services) => {
          const hooks = await listHooksForOperator(services, options.instance);
          print(
            hooks.map((h) => ({ id: h.id, kind: h.kind, room: h.roomId, name: h.name, target: h.target, events: h.events, created: iso(h.createdAt), lastUsed: iso(h.lastUsedAt), revoked: iso(h.revokedAt) })),
            options.json,
            'No webhooks.',
          );
        });
      }),
    );

  hook
    .command('deliveries')
    .description('The outgoing delivery log, newest first: status, attempts, last response code, latency, last error')
    .option('--status <status>', `only deliveries in this status: ${STATUSES.join(', ')}`)
    .option('--hook <id>', 'only this outgoing webhook')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON lines', false)
    .action((options: { status?: string; hook?: string; limit: string; json: boolean }) =>
      runCommand(async () => {
        const status = options.status === undefined ? undefined : STATUSES.find((s) => s === options.status);
        if (options.status !== undefined && !status) throw new AppError('VALIDATION_FAILED', { message: `--status must be one of ${STATUSES.join(', ')}.` });
        if (options.hook !== undefined && !UUID.test(options.hook)) throw new AppError('VALIDATION_FAILED', { message: '--hook is a webhook id (a UUID), as conclave hook list prints it.' });
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new AppError('VALIDATION_FAILED', { message: '--limit must be a whole number from 1 to 10000.' });
        await withServices(async (services) => {
          const rows = await listDeliveriesOfServer(services, { status, hookId: options.hook, limit });
          print(
            rows.map((d) => ({
              id: d.id,
              hook: d.hook_id,
              event: d.event_type,
              status: d.status,
              attempts: d.attempts,
              code: d.last_status_code ?? '-',
              latencyMs: d.last_latency_ms ?? '-',
              created: iso(d.created_at),
              next: d.status === 'queued' ? iso(d.next_attempt_at) : '-',
              error: d.last_error ?? '',
            })),
            options.json,
            'No deliveries.',
          );
        });
      }),
    );

  hook
    .command('revoke')
    .description('Revoke a webhook of either kind at once (a leaked URL, an incident); audited')
    .argument('<id>', 'the webhook id, as conclave hook list prints it')
    .action((id: string) =>
      runCommand(async () => {
        if (!UUID.test(id)) throw new AppError('VALIDATION_FAILED', { message: 'The id is a UUID, as conclave hook list prints it.' });
        await withServices(async (services) => {
          const kind = await revokeHookByOperator(services, id);
          console.log(`Revoked the ${kind} webhook ${id}.${kind === 'incoming' ? ' Its URL now answers 410.' : ' Nothing more is sent to it.'}`);
        });
      }),
    );
};
