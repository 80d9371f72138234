import { CliExit } from './cli/exit-codes.ts';
import { buildProgram } from './cli/program.ts';

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  // Commander's early ends (usage errors, --help); the process then ends by itself, its output flushed.
  if (!(error instanceof CliExit)) throw error;
  process.exitCode = error.code;
}
