import type { CommanderError } from 'commander';
import { Command } from 'commander';
import { API_VERSION } from '../app.ts';
import { registerAuditCommand } from './audit.command.ts';
import { registerBackupCommands } from './backup.command.ts';
import { registerDoctorCommand } from './doctor.command.ts';
import { CliExit, EXIT } from './exit-codes.ts';
import { registerImportCommand } from './import.command.ts';
import { registerIncidentCommand } from './incident.command.ts';
import { registerInstanceCommand } from './instance.command.ts';
import { registerKeysCommand } from './keys.command.ts';
import { registerMailCommand } from './mail.command.ts';
import { registerHookCommand } from './hook.command.ts';
import { registerMigrateCommand } from './migrate.command.ts';
import { registerServeCommand } from './serve.command.ts';
import { registerSessionsCommand } from './sessions.command.ts';
import { registerSetupCommand } from './setup.command.ts';
import { registerUserCommand } from './user.command.ts';
import { registerVersionCommand } from './version.command.ts';

export const buildProgram = (): Command => {
  const program = new Command('conclave')
    .description('Conclave: self-hostable team chat whose breach is harmless and contained in minutes.\nConfiguration comes from environment variables; see the README.')
    .version(API_VERSION)
    .showHelpAfterError('(run with --help for usage)');
  registerServeCommand(program);
  registerMigrateCommand(program);
  registerSetupCommand(program);
  registerUserCommand(program);
  registerImportCommand(program);
  registerSessionsCommand(program);
  registerInstanceCommand(program);
  registerKeysCommand(program);
  registerAuditCommand(program);
  registerMailCommand(program);
  registerHookCommand(program);
  registerIncidentCommand(program);
  registerBackupCommands(program);
  registerDoctorCommand(program);
  registerVersionCommand(program);
  // Usage errors exit 2 (help and version exit 0), in every subcommand: thrown as CliExit (see main.ts).
  const exitOverride = (command: Command): void => {
    command.exitOverride((error: CommanderError) => {
      const clean = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      throw new CliExit(clean ? EXIT.ok : EXIT.usage);
    });
    command.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
};
