import type { Command } from 'commander';
import { verifyAuditLog } from '../audit/index.ts';
import { EXIT } from './exit-codes.ts';
import { runCommand, withServices } from './run.ts';

export const registerAuditCommand = (program: Command): void => {
  const audit = program.command('audit').description('The tamper-evident audit log of security events and reads of room content');
  audit
    .command('verify')
    .description('Recompute every entry and the Merkle tree, check every checkpoint signature and the witness; exit 1 at the first inconsistency')
    .option('--witness <file>', 'the witness file to check against (default: CONCLAVE_AUDIT_WITNESS)')
    .option('--json', 'print the report as JSON', false)
    .action((options: { witness?: string; json: boolean }) =>
      runCommand(async () =>
        withServices(async (services) => {
          const report = await verifyAuditLog(services.database.db, {
            keyName: services.audit.keyName,
            publicKey: services.audit.publicKey,
            witnessPath: options.witness ?? services.config.auditWitnessPath,
          });
          if (options.json) console.log(JSON.stringify(report));
          else {
            console.log(`${report.entries} entries, ${report.checkpoints} signed checkpoints, ${report.witnessed} witnessed checkpoints.`);
            for (const silence of report.silences) console.log(`warn  ${silence}`);
            for (const problem of report.problems) console.log(`FAIL  at ${problem.seq}: ${problem.message}`);
            console.log(report.ok ? 'The audit log is intact.' : `The audit log is NOT intact: first bad sequence number ${report.firstBadSeq}.`);
          }
          return report.ok ? EXIT.ok : EXIT.failure;
        }),
      ),
    );
};
