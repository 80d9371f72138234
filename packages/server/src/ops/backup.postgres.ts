import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.ts';

/**
 * PostgreSQL backups are pg_dump's custom format (-Fc: compressed, restored selectively by pg_restore) of
 * Conclave's schema. The tools come from the PostgreSQL client package, of the server's major version or
 * newer. The password never reaches their command line (it would show in `ps`): it goes in PGPASSWORD.
 */
const toolTarget = (databaseUrl: string): { target: string; env: NodeJS.ProcessEnv } => {
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  // libpq decodes %20, not the + that URLSearchParams writes for a space (options=-c search_path=…).
  const query = [...url.searchParams].map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&');
  url.search = query ? `?${query}` : '';
  return { target: url.toString(), env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } };
};

const runTool = (tool: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        new AppError('BACKUP_TOOL_FAILED', {
          message:
            error.code === 'ENOENT'
              ? `${tool} is not on PATH. Install the PostgreSQL client tools (Debian: apt-get install postgresql-client), of the server's major version or newer, and run again.`
              : `${tool} could not start: ${error.message}`,
        }),
      );
    });
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new AppError('BACKUP_TOOL_FAILED', { message: `${tool} failed (exit ${String(code)}): ${stderr.trim().split('\n').slice(-5).join(' | ') || 'no message'}` }));
    });
  });

/** pg_dump -Fc of one schema, without owners or grants (the restore's role owns what it restores). */
export const pgDump = async (databaseUrl: string, schema: string, file: string): Promise<void> => {
  const { target, env } = toolTarget(databaseUrl);
  await runTool('pg_dump', ['--format=custom', `--schema=${schema}`, '--no-owner', '--no-privileges', `--file=${file}`, `--dbname=${target}`], env);
};

/**
 * pg_restore into the (existing, empty) schema of the same name: its CREATE SCHEMA and schema comment are
 * left out of the table of contents, everything else is restored in one transaction, stopping at the
 * first error (so a failed restore leaves nothing behind).
 */
export const pgRestore = async (databaseUrl: string, schema: string, file: string, workDir: string): Promise<void> => {
  const { target, env } = toolTarget(databaseUrl);
  const toc = await runTool('pg_restore', ['--list', file], env);
  const schemaEntry = new RegExp(`^\\d+; \\d+ \\d+ (SCHEMA - |COMMENT - SCHEMA )${schema.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `);
  const list = join(workDir, 'restore.list');
  await writeFile(list, toc.split('\n').filter((line) => !schemaEntry.test(line)).join('\n'), { mode: 0o600 });
  await runTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--use-list=${list}`, `--dbname=${target}`, file], env);
};
