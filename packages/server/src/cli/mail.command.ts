import type { Command } from 'commander';
import type { MailStatus } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { countMailsByStatus, findOutboxMail, listOutbox, messageIdOf } from '../mail/index.ts';
import { runCommand, withServices } from './run.ts';

const STATUSES: readonly MailStatus[] = ['queued', 'sending', 'sent', 'failed'];
const iso = (at: number | null): string => (at === null ? '-' : new Date(at).toISOString());

export const registerMailCommand = (program: Command): void => {
  const mail = program.command('mail').description('Read the mail outbox (what was sent, what waits, what failed and why)');

  mail
    .command('list')
    .description('List mails, newest first: id, status, kind, recipient, attempts, last error')
    .option('--status <status>', `only mails in this status: ${STATUSES.join(', ')}`)
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON lines', false)
    .action((options: { status?: string; limit: string; json: boolean }) =>
      runCommand(async () => {
        const status = options.status === undefined ? undefined : STATUSES.find((s) => s === options.status);
        if (options.status !== undefined && !status) throw new AppError('VALIDATION_FAILED', { message: `--status must be one of ${STATUSES.join(', ')}.` });
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new AppError('VALIDATION_FAILED', { message: '--limit must be a whole number from 1 to 10000.' });
        await withServices(async (services) => {
          const mails = await listOutbox(services, { status, limit });
          const rows = mails.map((m) => ({
            id: m.id,
            created: iso(m.createdAt),
            status: m.status,
            kind: m.kind,
            to: m.to,
            attempts: m.attempts,
            error: m.lastError ?? '',
          }));
          if (options.json) {
            for (const row of rows) console.log(JSON.stringify(row));
            return;
          }
          const counts = await countMailsByStatus(services.database.db);
          console.log(`Outbox: ${STATUSES.map((s) => `${counts[s]} ${s}`).join(', ')}.${services.config.smtpUrl ? '' : ' SMTP_URL is not set: nothing is sent; `conclave mail show <id>` prints a mail to deliver by hand.'}`);
          if (rows.length === 0) console.log('No mails.');
          else console.table(rows);
        });
      }),
    );

  mail
    .command('show')
    .description('Print one mail whole, headers and text, reset link included (to complete a reset without SMTP)')
    .argument('<id>', 'the mail id from conclave mail list')
    .option('--html', 'print the HTML body instead of the text', false)
    .action((id: string, options: { html: boolean }) =>
      runCommand(async () => {
        if (!/^[0-9a-f-]{36}$/.test(id)) throw new AppError('VALIDATION_FAILED', { message: 'The id is a UUID, as conclave mail list prints it.' });
        await withServices(async (services) => {
          const found = await findOutboxMail(services, id);
          if (!found) throw new AppError('ROUTE_NOT_FOUND', { message: `No mail with id ${id}.` });
          const lines = [
            `Message-ID: ${messageIdOf(services, found.id)}`,
            `From: ${services.config.mailFrom}`,
            `To: ${found.to}`,
            `Subject: ${found.content.subject}`,
            `Date: ${iso(found.createdAt)}`,
            `X-Conclave-Status: ${found.status} (attempts ${found.attempts}${found.sentAt !== null ? `, sent ${iso(found.sentAt)}` : ''}${found.expiresAt !== null ? `, link expires ${iso(found.expiresAt)}` : ''})`,
            ...(found.lastError ? [`X-Conclave-Last-Error: ${found.lastError}`] : []),
            '',
          ];
          const body = options.html ? found.content.html : found.content.text;
          lines.push(body ?? '(The body is not kept once a mail is delivered: it may hold a reset link.)');
          console.log(lines.join('\n'));
        });
      }),
    );
};
