import { randomBytes } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { LIMITS } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { newId } from '../crypto/index.ts';
import { emailKeyOf } from './account.actions.ts';
import type { AccountRow } from './account.queries.ts';
import { sealAccount } from './account.seal.ts';
import { LEGACY_FORMATS, legacyHashProblem, wrapLegacyHash, type LegacyFormat, type SaltOrder } from './password.legacy.ts';

/**
 * `conclave import users`: accounts from a legacy system's CSV (docs/runbooks/legacy-import.md). Every row is
 * checked before anything is written; each legacy hash is wrapped under argon2id at once (a plaintext
 * password is hashed natively), so no weak form is ever stored; rows go in in chunks, each chunk one
 * transaction; an email that already has an account is skipped, so a second run (or a run after an
 * interruption) creates nothing twice. No staging table: rows live in memory only.
 */
export const IMPORT_FORMATS = [...LEGACY_FORMATS, 'plaintext'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImportOptions {
  format: ImportFormat;
  /** Members of this instance (role member) as they are created. */
  instanceId?: string | undefined;
  /** Set reset_required_at: the imported password does not log in; only a reset does. */
  resetRequired?: boolean;
  saltOrder?: SaltOrder;
  /** Rows per transaction (default 200). */
  chunkSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ImportProblem {
  line: number;
  problem: string;
}

/** The file is not importable: every problem, by line; nothing was written. */
export class ImportError extends Error {
  readonly problems: ImportProblem[];
  constructor(problems: ImportProblem[]) {
    super(`${problems.length} problem(s) in the file; nothing was imported.`);
    this.name = 'ImportError';
    this.problems = problems;
  }
}

export interface ImportSummary {
  rows: number;
  created: number;
  /** Emails that already had an account: left as they are. */
  skipped: number;
  ignoredColumns: string[];
}

interface ImportRow {
  line: number;
  email: string;
  displayName: string;
  secret: string;
  salt: string | undefined;
}

/** The form ajv-formats checks `email` against (what the API accepts). */
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const CONTROL = /[\p{Cc}\p{Cs}\u2028\u2029]/u;

const NAME_COLUMNS = ['display_name', 'name'] as const;

/** The columns a format reads: email, a name, the password or its hash, and (digests only) an optional salt. */
export const describeColumns = (format: ImportFormat): string =>
  format === 'plaintext'
    ? 'email, display_name (or name), password'
    : format === 'bcrypt'
      ? 'email, display_name (or name), password_hash'
      : 'email, display_name (or name), password_hash, and optionally salt';

/** Parses and checks the whole file; throws ImportError listing every problem. */
export const readImportFile = (text: string, format: ImportFormat, keyOf: (email: string) => string): { rows: ImportRow[]; ignoredColumns: string[] } => {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  let header: string[] = [];
  try {
    records = parse(text, {
      bom: true,
      columns: (names: string[]) => (header = names.map((name) => name.trim().toLowerCase())),
      skip_empty_lines: true,
      info: true,
    }) as unknown as typeof records;
  } catch (error) {
    const { lines, message } = error as { lines?: number; message: string };
    throw new ImportError([{ line: lines ?? 1, problem: `not readable as CSV: ${message}` }]);
  }
  const secretColumn = format === 'plaintext' ? 'password' : 'password_hash';
  const nameColumn = NAME_COLUMNS.find((name) => header.includes(name));
  const missing = [...(header.includes('email') ? [] : ['email']), ...(nameColumn ? [] : ['display_name (or name)']), ...(header.includes(secretColumn) ? [] : [secretColumn])];
  const known = new Set<string>(['email', secretColumn, ...(nameColumn ? [nameColumn] : []), ...(format !== 'plaintext' && format !== 'bcrypt' ? ['salt'] : [])]);
  if (missing.length > 0) {
    throw new ImportError([{ line: 1, problem: `missing column(s): ${missing.join(', ')}; --hash ${format} reads ${describeColumns(format)}` }]);
  }
  if (format === 'bcrypt' && header.includes('salt')) {
    throw new ImportError([{ line: 1, problem: 'a salt column with --hash bcrypt: bcrypt hashes carry their own salt; remove the column' }]);
  }
  const problems: ImportProblem[] = [];
  const rows: ImportRow[] = [];
  const firstLineOf = new Map<string, number>();
  for (const { record, info } of records) {
    const line = info.lines;
    const email = (record['email'] ?? '').trim();
    const displayName = (record[nameColumn ?? 'name'] ?? '').trim();
    const secret = record[secretColumn] ?? '';
    const salt = header.includes('salt') ? record['salt'] : undefined;
    const rowProblems: string[] = [];
    if (email.length > LIMITS.emailMaxLength || !EMAIL.test(email)) rowProblems.push('email is not a valid address');
    if (displayName.length === 0 || displayName.length > LIMITS.displayNameMaxLength || CONTROL.test(displayName)) {
      rowProblems.push(`${nameColumn} must be 1–${LIMITS.displayNameMaxLength} characters on one line`);
    }
    if (format === 'plaintext') {
      if (secret.length === 0 || secret.length > LIMITS.passwordMaxLength) rowProblems.push(`password must be 1–${LIMITS.passwordMaxLength} characters`);
    } else {
      const problem = legacyHashProblem({ format: format as LegacyFormat, hash: secret.trim(), salt });
      if (problem) rowProblems.push(`password_hash is ${problem}`);
    }
    if (rowProblems.length === 0) {
      const key = keyOf(email);
      const first = firstLineOf.get(key);
      if (first !== undefined) rowProblems.push(`email duplicates line ${first}`);
      else firstLineOf.set(key, line);
    }
    if (rowProblems.length > 0) problems.push({ line, problem: rowProblems.join('; ') });
    else rows.push({ line, email, displayName, secret: format === 'plaintext' ? secret : secret.trim(), salt: salt === '' ? undefined : salt });
  }
  if (problems.length > 0) throw new ImportError(problems);
  if (rows.length === 0) throw new ImportError([{ line: 1, problem: 'the file has no rows' }]);
  return { rows, ignoredColumns: header.filter((name) => !known.has(name)) };
};

export const importAccounts = async (ctx: AppContext, text: string, options: ImportOptions): Promise<ImportSummary> => {
  const { rows, ignoredColumns } = readImportFile(text, options.format, (email) => emailKeyOf(ctx, email));
  const chunkSize = Math.max(1, options.chunkSize ?? 200);
  const resetRequiredAt = options.resetRequired ? ctx.now() : null;
  let created = 0;
  let skipped = 0;
  options.onProgress?.(0, rows.length);
  for (let start = 0; start < rows.length; start += chunkSize) {
    const chunk = rows.slice(start, start + chunkSize);
    const keys = chunk.map((row) => emailKeyOf(ctx, row.email));
    const existing = new Set(
      (await ctx.database.db.selectFrom('accounts').select('email_key').where('email_key', 'in', keys).execute()).map((r) => r.email_key),
    );
    const fresh = chunk.filter((_, i) => !existing.has(keys[i] ?? ''));
    skipped += chunk.length - fresh.length;
    // The slow part (argon2id, on the thread pool, as many at once as the hasher allows) before the transaction.
    const prepared: AccountRow[] = await Promise.all(
      fresh.map(async (row) => {
        const passwordHash =
          options.format === 'plaintext'
            ? await ctx.hasher.hash(row.secret)
            : await wrapLegacyHash(ctx.hasher, { format: options.format, hash: row.secret, salt: row.salt, saltOrder: options.saltOrder });
        const now = ctx.now();
        return sealAccount(ctx.keyring, {
          id: newId(now),
          email: row.email,
          email_key: emailKeyOf(ctx, row.email),
          display_name: row.displayName,
          password_hash: passwordHash,
          is_operator: 0,
          not_before: 0,
          reset_required_at: resetRequiredAt,
          two_factor_enabled_at: null,
          created_at: now,
          updated_at: now,
          bot_owner_id: null,
        });
      }),
    );
    const inserted = await ctx.database.db.transaction().execute(async (trx) => {
      let count = 0;
      for (const account of prepared) {
        // Someone may have signed up with this email since the check above: theirs stands, this row is skipped.
        const result = await trx.insertInto('accounts').values(account).onConflict((oc) => oc.column('email_key').doNothing()).executeTakeFirst();
        if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) continue;
        count += 1;
        if (options.instanceId !== undefined) {
          await trx
            .insertInto('memberships')
            .values({ instance_id: options.instanceId, account_id: account.id, role: 'member', created_at: account.created_at })
            .onConflict((oc) => oc.columns(['instance_id', 'account_id']).doNothing())
            .execute();
        }
      }
      return count;
    });
    created += inserted;
    skipped += prepared.length - inserted;
    options.onProgress?.(Math.min(start + chunk.length, rows.length), rows.length);
  }
  await ctx.audit.record({
    action: 'account.import',
    instanceId: options.instanceId ?? null,
    detail: { format: options.format, rows: rows.length, created, skipped, resetRequired: resetRequiredAt !== null },
  });
  return { rows: rows.length, created, skipped, ignoredColumns };
};

/**
 * A person another system's export names (`conclave import slack`): the account with that email if there is
 * one (matched), else a new one that must reset its password before it can log in (its password is a random
 * secret nobody knows). Either way a member of the instance.
 */
export const findOrCreateImportedAccount = async (
  ctx: AppContext,
  input: { email: string; displayName: string; instanceId: string },
): Promise<{ accountId: string; created: boolean } | { problem: string }> => {
  const email = input.email.trim();
  if (email.length > LIMITS.emailMaxLength || !EMAIL.test(email)) return { problem: 'email is not a valid address' };
  const displayName = input.displayName.replace(CONTROL, '').trim().slice(0, LIMITS.displayNameMaxLength) || email.split('@')[0] || 'Someone';
  const key = emailKeyOf(ctx, email);
  const join = async (accountId: string, at: number) => {
    await ctx.database.db
      .insertInto('memberships')
      .values({ instance_id: input.instanceId, account_id: accountId, role: 'member', created_at: at })
      .onConflict((oc) => oc.columns(['instance_id', 'account_id']).doNothing())
      .execute();
  };
  const existing = await ctx.database.db.selectFrom('accounts').select('id').where('email_key', '=', key).executeTakeFirst();
  if (existing) {
    await join(existing.id, ctx.now());
    return { accountId: existing.id, created: false };
  }
  const now = ctx.now();
  const account = sealAccount(ctx.keyring, {
    id: newId(now),
    email,
    email_key: key,
    display_name: displayName,
    password_hash: await ctx.hasher.hash(randomBytes(32).toString('base64url')),
    is_operator: 0,
    not_before: 0,
    reset_required_at: now,
    two_factor_enabled_at: null,
    created_at: now,
    updated_at: now,
    bot_owner_id: null,
  });
  const result = await ctx.database.db.insertInto('accounts').values(account).onConflict((oc) => oc.column('email_key').doNothing()).executeTakeFirst();
  if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) return findOrCreateImportedAccount(ctx, input);
  await join(account.id, now);
  return { accountId: account.id, created: true };
};
