import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { KeyFileError, MasterKeyError } from '../crypto/index.ts';
import { MigrationError } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { createLogger } from '../http/logger.ts';
import { createServices, StartupError, type Services } from '../services.ts';
import { CliExit, EXIT } from './exit-codes.ts';

/** Runs a command body and turns every failure into a one-line message and a meaningful exit code. */
export const runCommand = async (body: () => Promise<number | void>): Promise<void> => {
  try {
    process.exitCode = (await body()) ?? EXIT.ok;
  } catch (error) {
    if (error instanceof CliExit) {
      process.exitCode = error.code;
    } else if (error instanceof ConfigError) {
      console.error(error.message);
      process.exitCode = EXIT.config;
    } else if (error instanceof AppError) {
      console.error(`error ${error.code}: ${error.message}`);
      process.exitCode = EXIT.failure;
    } else if (error instanceof StartupError || error instanceof KeyFileError || error instanceof MigrationError || error instanceof MasterKeyError) {
      console.error(`error: ${error.message}`);
      process.exitCode = EXIT.failure;
    } else {
      console.error(`error: ${(error as Error).message ?? String(error)}`);
      process.exitCode = EXIT.failure;
    }
  }
};

export const configFromEnv = (): Config => loadConfig(process.env);

/** Services for a one-shot command: logs only warnings and worse, to stderr. */
export const withServices = async <T>(body: (services: Services) => Promise<T>): Promise<T> => {
  const config = configFromEnv();
  const services = await createServices(config, { logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr), lazyBlocklist: true });
  try {
    return await body(services);
  } finally {
    await services.close();
  }
};
