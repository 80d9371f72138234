import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { exportBundle, findEntries, verifyAuditLog, verifyBundle, type AuditBundle, type AuditRow } from '../audit/index.ts';
import { AppError } from '../errors.ts';
import { findAccountByEmail } from '../identity/index.ts';
import { EXIT } from './exit-codes.ts';
import { instanceBySlug, parseTime } from './lookups.ts';
import { runCommand, withServices } from './run.ts';


const row = (entry: AuditRow): Record<string, unknown> => ({
  seq: Number(entry.seq),
  at: new Date(Number(entry.at)).toISOString(),
  action: entry.action,
  instanceId: entry.instance_id,
  roomId: entry.room_id,
  actorId: entry.actor_id,
  sessionId: entry.session_id,
  detail: JSON.parse(entry.detail) as unknown,
});

export const registerAuditCommand = (program: Command): void => {
  const audit = program.command('audit').description('The tamper-evident audit log of security events and reads of room content');

  audit
    .command('verify')
    .description('Recompute every entry and the Merkle tree, check every checkpoint signature and the witness; exit 1 at the first inconsistency')
    .option('--witness <file>', 'the witness file to check against (default: CONCLAVE_AUDIT_WITNESS)')
    .option('--bundle <file>', 'check an exported bundle offline instead, with only the public key (no database, no keys directory)')
    .option('--public-key <base64>', 'with --bundle: the audit public key you trust (conclave audit public-key prints it)')
    .option('--json', 'print the report as JSON', false)
    .action((options: { witness?: string; bundle?: string; publicKey?: string; json: boolean }) =>
      runCommand(async () => {
        if (options.bundle !== undefined) {
          if (options.publicKey === undefined) throw new AppError('VALIDATION_FAILED', { message: 'Give the audit public key you trust with --public-key (from conclave audit public-key, obtained out of band).' });
          let bundle: AuditBundle;
          try {
            bundle = JSON.parse(await readFile(options.bundle, 'utf8')) as AuditBundle;
          } catch (error) {
            throw new AppError('VALIDATION_FAILED', { message: `${options.bundle} is not a readable JSON bundle (${(error as Error).message}).` });
          }
          const report = verifyBundle(bundle, Buffer.from(options.publicKey, 'base64'));
          if (options.json) console.log(JSON.stringify(report));
          else {
            for (const problem of report.problems) console.log(`FAIL  ${problem}`);
            console.log(report.ok ? `The bundle verifies: ${report.entries} entries in the signed log of ${report.size}.` : 'The bundle does NOT verify.');
          }
          return report.ok ? EXIT.ok : EXIT.failure;
        }
        return withServices(async (services) => {
          const report = await verifyAuditLog(services.database.db, {
            keyName: services.audit.keyName,
            publicKey: services.audit.publicKey,
            witnessPath: options.witness ?? services.config.auditWitnessPath,
            connection: services.config,
          });
          if (options.json) console.log(JSON.stringify(report));
          else {
            console.log(`${report.entries} entries, ${report.checkpoints} signed checkpoints, ${report.witnessed} witnessed checkpoints.`);
            for (const silence of report.silences) console.log(`warn  ${silence}`);
            for (const problem of report.problems) console.log(`FAIL  at ${problem.seq}: ${problem.message}`);
            console.log(report.ok ? 'The audit log is intact.' : `The audit log is NOT intact: first bad sequence number ${report.firstBadSeq}.`);
          }
          return report.ok ? EXIT.ok : EXIT.failure;
        });
      }),
    );

  audit
    .command('query')
    .description('Find entries: who read which rooms when, log-ins, administrative actions')
    .option('--instance <slug>', 'entries of this instance')
    .option('--room <id>', 'entries of this room')
    .option('--actor <email-or-id>', 'entries of this account')
    .option('--session <id>', 'entries of this session or token')
    .option('--ip <address>', 'entries from this client address (matched by its keyed hash)')
    .option('--action <actions>', 'comma-separated actions, such as room.read,auth.login')
    .option('--since <time>', 'from this time (ISO 8601)')
    .option('--until <time>', 'before this time (ISO 8601)')
    .option('--limit <n>', 'at most this many, newest first', '1000')
    .option('--json', 'print JSON lines', false)
    .action((options: { instance?: string; room?: string; actor?: string; session?: string; ip?: string; action?: string; since?: string; until?: string; limit: string; json: boolean }) =>
      runCommand(async () => {
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) throw new AppError('VALIDATION_FAILED', { message: '--limit must be a whole number from 1 to 1000000.' });
        const since = parseTime('--since', options.since);
        const until = parseTime('--until', options.until);
        await withServices(async (services) => {
          const instanceId = options.instance === undefined ? undefined : (await instanceBySlug(services, options.instance)).id;
          let actorId = options.actor;
          if (actorId?.includes('@')) {
            const account = await findAccountByEmail(services, actorId);
            if (!account) throw new AppError('MEMBER_NOT_FOUND', { message: `No account with email ${actorId}.` });
            actorId = account.id;
          }
          const entries = await findEntries(services.database.db, {
            instanceId,
            roomId: options.room,
            actorId,
            sessionId: options.session,
            ipHash: options.ip === undefined ? undefined : services.audit.clientHash('ip', options.ip),
            actions: options.action?.split(',').map((a) => a.trim()).filter(Boolean),
            since,
            until,
            limit,
            order: 'desc',
          });
          await services.audit.record({ action: 'audit.query', instanceId: instanceId ?? null, detail: { via: 'cli', results: entries.length } });
          if (options.json) for (const entry of entries) console.log(JSON.stringify(row(entry)));
          else {
            for (const entry of entries) {
              const r = row(entry);
              console.log([r['seq'], r['at'], r['action'], r['instanceId'] ?? '-', r['roomId'] ?? '-', r['actorId'] ?? '-', r['sessionId'] ?? '-', JSON.stringify(r['detail'])].join('  '));
            }
            console.log(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}.`);
          }
        });
      }),
    );

  audit
    .command('export')
    .description('Write a bundle (entries, checkpoints, inclusion and consistency proofs) that conclave audit verify --bundle checks offline')
    .requiredOption('--out <file>', 'where to write the bundle (JSON)')
    .option('--instance <slug>', 'only this instance\'s entries')
    .option('--since <time>', 'from this time (ISO 8601)')
    .option('--until <time>', 'before this time (ISO 8601)')
    .action((options: { out: string; instance?: string; since?: string; until?: string }) =>
      runCommand(async () => {
        const since = parseTime('--since', options.since);
        const until = parseTime('--until', options.until);
        await withServices(async (services) => {
          const instanceId = options.instance === undefined ? undefined : (await instanceBySlug(services, options.instance)).id;
          // Fail closed: the export is recorded (and covered by a fresh checkpoint) before it is written.
          await services.audit.record({ action: 'audit.export', instanceId: instanceId ?? null, detail: { via: 'cli', since: since ?? null, until: until ?? null } });
          await services.audit.checkpoint();
          const bundle = await exportBundle(services.database.db, { keyName: services.audit.keyName, publicKey: services.audit.publicKey }, { instanceId, since, until });
          await writeFile(options.out, `${JSON.stringify(bundle)}\n`, { mode: 0o600 });
          console.log(`Wrote ${bundle.entries.length} entries with proofs to ${options.out}. Verify it anywhere with: conclave audit verify --bundle ${options.out} --public-key ${bundle.publicKey}`);
        });
      }),
    );

  audit
    .command('public-key')
    .description('Print the audit log\'s name and public key, for verifiers to keep out of band')
    .action(() =>
      runCommand(async () => {
        await withServices(async (services) => {
          console.log(`${services.audit.keyName} ${services.audit.publicKey.toString('base64')}`);
        });
      }),
    );
};
