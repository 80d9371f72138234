/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** The command ran and failed, or (doctor) found a problem. */
  failure: 1,
  /** The command line was wrong: unknown command or option, missing argument. */
  usage: 2,
  /** `conclave version --check`: a newer release is available. */
  updateAvailable: 3,
  /** `conclave version --check`: a newer release fixes a security problem; upgrade. */
  securityUpdate: 4,
  /** The configuration (environment) is invalid; sysexits' EX_CONFIG. */
  config: 78,
} as const;

/**
 * How the CLI ends early (usage errors, --help, --version): thrown, never process.exit(), so that buffered
 * output is flushed and the program can run inside another process (the tests run it in theirs). main.ts
 * turns it into the exit code.
 */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`conclave exits with code ${code}`);
    this.name = 'CliExit';
  }
}
