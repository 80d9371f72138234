import { sql, type Kysely } from 'kysely';
import type { Engine, Schema } from '../db/index.ts';

/**
 * What every stored column holds, as far as secrecy goes. The doctor's scan reads the database against this
 * map: a value that is not of its column's form, a table or column the map does not know (the leftover
 * table of 2010), or an account still on a legacy hash is reported. A test keeps this map equal to the
 * schema the migrations make.
 */
type ColumnForm =
  | 'sealed' // cv1.<version>.<base64url>
  | 'blind-index' // hex HMAC-SHA256
  | 'term' // base64url of a truncated HMAC
  | 'token-hash' // hex SHA-256
  | 'password-hash' // PHC argon2id
  | 'wrapped-key' // base64url AEAD of a key
  | 'room-key' // blind index, or direct:<id>:<id>
  | 'plain'; // ids, times, roles, flags: nothing a person wrote

const plain = (...names: string[]): Record<string, ColumnForm> => Object.fromEntries(names.map((n) => [n, 'plain' as const]));

export const STORED_COLUMNS: Record<string, Record<string, ColumnForm>> = {
  server_state: { ...plain('id', 'not_before', 'setup_completed_at', 'pepper_id', 'master_key_id', 'plaintext_sealed_at'), setup_token_hash: 'token-hash' },
  accounts: {
    ...plain('id', 'is_operator', 'not_before', 'reset_required_at', 'two_factor_enabled_at', 'created_at', 'updated_at', 'bot_owner_id'),
    email: 'sealed',
    email_key: 'blind-index',
    display_name: 'sealed',
    password_hash: 'password-hash',
  },
  instances: plain('id', 'slug', 'name', 'signup_mode', 'two_factor_required', 'not_before', 'created_at', 'updated_at', 'file_max_bytes'),
  memberships: plain('instance_id', 'account_id', 'role', 'created_at', 'not_before'),
  sessions: { ...plain('id', 'account_id', 'created_at', 'last_seen_at', 'idle_expires_at', 'expires_at'), token_hash: 'token-hash', ip: 'sealed', user_agent: 'sealed' },
  api_tokens: { ...plain('id', 'account_id', 'scopes', 'created_at', 'last_used_at', 'expires_at'), name: 'sealed', token_hash: 'token-hash' },
  invites: { ...plain('id', 'instance_id', 'role', 'created_by', 'created_at', 'expires_at', 'used_at', 'used_by'), token_hash: 'token-hash', email_key: 'blind-index' },
  rooms: {
    ...plain('id', 'instance_id', 'kind', 'privacy', 'archived_at', 'created_by', 'created_at', 'updated_at', 'last_message_at'),
    name: 'sealed',
    name_key: 'room-key',
    topic: 'sealed',
  },
  room_members: plain('room_id', 'account_id', 'role', 'joined_at', 'last_read_message_id'),
  messages: { ...plain('id', 'room_id', 'author_id', 'mentions', 'created_at', 'edited_at', 'deleted_at', 'deleted_by'), body: 'sealed', via: 'sealed', attachments: 'sealed' },
  // A file's name and type are sealed; its bytes are on disk, encrypted (decision 0021).
  files: { ...plain('id', 'instance_id', 'room_id', 'message_id', 'uploader_id', 'key_version', 'size_bytes', 'has_preview', 'created_at'), meta: 'sealed' },
  // Which Slack ids an import brought in as which Conclave ids: ids only.
  import_mappings: plain('source', 'instance_id', 'kind', 'source_id', 'target_id', 'created_at'),
  message_edits: { ...plain('message_id', 'replaced_at'), body: 'sealed' },
  message_mentions: plain('message_id', 'room_id', 'account_id'),
  message_terms: { ...plain('message_id', 'room_id'), term: 'term' },
  // SQLite's search index (FTS5, contentless): tokens are hex keyed HMACs of words, never a word; the
  // virtual table reads back no terms, and its shadow tables hold index segments and sizes.
  message_search: plain('terms'),
  message_search_rows: plain('search_rowid', 'message_id', 'room_id'),
  message_search_data: plain('id', 'block'),
  message_search_idx: plain('segid', 'term', 'pgno'),
  message_search_docsize: plain('id', 'sz', 'origin'),
  message_search_config: plain('k', 'v'),
  reactions: plain('message_id', 'account_id', 'emoji', 'created_at'),
  events: { ...plain('seq', 'id', 'instance_id', 'room_id', 'account_id', 'audience', 'created_at'), payload: 'sealed' },
  root_keys: { ...plain('id', 'instance_id', 'purpose', 'version', 'master_id', 'created_at'), wrapped: 'wrapped-key' },
  data_keys: { ...plain('owner_id', 'version', 'instance_id', 'kek_version', 'created_at'), wrapped: 'wrapped-key' },
  audit_entries: {
    ...plain('seq', 'at', 'action', 'instance_id', 'actor_id', 'session_id', 'room_id', 'detail'),
    ip_hash: 'blind-index',
    ua_hash: 'blind-index',
    leaf_hash: 'token-hash',
  },
  audit_head: plain('id', 'seq'),
  audit_checkpoints: plain('size', 'root_hash', 'note', 'frontier', 'created_at'),
  two_factor: { ...plain('account_id', 'enabled_at', 'last_used_step', 'failed_attempts', 'failures_since', 'created_at', 'updated_at'), secret: 'sealed' },
  two_factor_recovery_codes: { ...plain('account_id', 'created_at', 'used_at'), code_hash: 'token-hash' },
  login_challenges: { ...plain('account_id', 'created_at', 'expires_at'), token_hash: 'token-hash' },
  // The recipient and the rendered mail (a reset link) are sealed: a stolen database holds no usable link.
  mail_outbox: {
    ...plain('id', 'idempotency_key', 'kind', 'account_id', 'status', 'attempts', 'next_attempt_at', 'expires_at', 'claimed_by', 'claimed_at', 'created_at', 'updated_at', 'sent_at', 'mailing_id'),
    recipient: 'sealed',
    content: 'sealed',
    last_error: 'sealed',
  },
  password_resets: { ...plain('id', 'account_id', 'reason', 'created_at', 'expires_at', 'used_at'), token_hash: 'token-hash' },
  // What an incident is about, who looked at what, and what the notices say are sealed; ids, times and segments are not.
  incidents: {
    ...plain('id', 'number', 'severity', 'status', 'aware_at', 'declared_at', 'declared_by', 'resolved_at', 'published_at', 'postmortem_published_at', 'updated_at'),
    title: 'sealed',
    details: 'sealed',
    postmortem: 'sealed',
  },
  incident_updates: { ...plain('id', 'incident_id', 'at', 'kind', 'status', 'public', 'actor_id'), body: 'sealed' },
  incident_scopes: { ...plain('id', 'incident_id', 'created_at', 'created_by', 'checkpoint_size', 'checkpoint_root', 'verified', 'default_segment', 'counts'), selectors: 'sealed' },
  incident_scope_accounts: plain('scope_id', 'account_id', 'segment', 'reason'),
  incident_scope_instances: plain('scope_id', 'instance_id', 'segment', 'summary'),
  incident_containments: plain('id', 'incident_id', 'scope_id', 'target', 'steps', 'status', 'step_index', 'cursor', 'done', 'total', 'epoch', 'created_by', 'started_at', 'updated_at', 'finished_at'),
  incident_mailings: { ...plain('id', 'incident_id', 'scope_id', 'target', 'template', 'rate_per_second', 'status', 'cursor', 'queued', 'created_by', 'created_at', 'updated_at'), message: 'sealed' },
  revocation_log: plain('seq', 'scope', 'created_at'),
  // Integrations (decision 0020): webhook secrets as SHA-256 (incoming) or sealed (outgoing: the server signs with it).
  incoming_hooks: { ...plain('id', 'instance_id', 'room_id', 'bot_account_id', 'created_by', 'created_at', 'last_used_at', 'revoked_at'), name: 'sealed', token_hash: 'token-hash' },
  outgoing_hooks: { ...plain('id', 'instance_id', 'room_id', 'events', 'created_by', 'created_at', 'revoked_at'), name: 'sealed', target: 'sealed' },
  hook_deliveries: {
    ...plain('id', 'hook_id', 'room_id', 'event_type', 'event_seq', 'status', 'attempts', 'next_attempt_at', 'claimed_by', 'claimed_at', 'last_status_code', 'last_error', 'last_latency_ms', 'created_at', 'updated_at', 'delivered_at'),
    payload: 'sealed',
  },
};

/** The migrator's own bookkeeping. */
const INFRASTRUCTURE_TABLES = new Set(['kysely_migration', 'kysely_migration_lock']);

/** Each form as the database checks it: a SQLite test that a value (`v`, a quoted column) is bad, and a PostgreSQL regex of a good one. */
const FORMS: Record<Exclude<ColumnForm, 'plain' | 'password-hash'>, { sqliteBad: (v: string) => string; pgGood: string }> = {
  sealed: { sqliteBad: (v) => `NOT (${v} GLOB 'cv1.[0-9]*.?*') OR ${v} GLOB '*[^A-Za-z0-9._-]*' OR length(${v}) < 34`, pgGood: '^cv1\\.[0-9]+\\.[A-Za-z0-9_-]{30,}$' },
  'blind-index': { sqliteBad: (v) => `length(${v}) <> 64 OR ${v} GLOB '*[^0-9a-f]*'`, pgGood: '^[0-9a-f]{64}$' },
  'token-hash': { sqliteBad: (v) => `length(${v}) <> 64 OR ${v} GLOB '*[^0-9a-f]*'`, pgGood: '^[0-9a-f]{64}$' },
  term: { sqliteBad: (v) => `length(${v}) <> 22 OR ${v} GLOB '*[^A-Za-z0-9_-]*'`, pgGood: '^[A-Za-z0-9_-]{22}$' },
  'wrapped-key': { sqliteBad: (v) => `length(${v}) < 60 OR ${v} GLOB '*[^A-Za-z0-9_-]*'`, pgGood: '^[A-Za-z0-9_-]{60,}$' },
  'room-key': {
    sqliteBad: (v) => `NOT ((length(${v}) = 64 AND NOT ${v} GLOB '*[^0-9a-f]*') OR (${v} GLOB 'direct:*' AND length(${v}) = 80 AND NOT ${v} GLOB '*[^0-9a-f:dirct-]*'))`,
    pgGood: '^([0-9a-f]{64}|direct:[0-9a-f-]{36}:[0-9a-f-]{36})$',
  },
};

export interface ScanFinding {
  level: 'ok' | 'warn' | 'fail';
  message: string;
}

const listTables = async (db: Kysely<Schema>, engine: Engine): Promise<string[]> =>
  engine === 'sqlite'
    ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(db)).rows.map((r) => r.name)
    : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(db)).rows.map(
        (r) => r.name,
      );

const listColumns = async (db: Kysely<Schema>, engine: Engine, table: string): Promise<string[]> =>
  engine === 'sqlite'
    ? (await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db)).rows.map((r) => r.name)
    : (await sql<{ name: string }>`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ${table} order by ordinal_position`.execute(db)).rows.map(
        (r) => r.name,
      );

const countRows = async (db: Kysely<Schema>, table: string): Promise<number> =>
  Number((await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]?.n ?? 0);

/** How many values of a column are not of its form, with a few row ids (never the values) to find them by. */
const countMisfits = async (db: Kysely<Schema>, engine: Engine, table: string, column: string, form: keyof typeof FORMS, idColumn: string | undefined): Promise<{ bad: number; total: number; sample: string[] }> => {
  const pattern = FORMS[form];
  const value = sql.ref(column);
  const bad =
    engine === 'sqlite'
      ? sql`(${value} is not null and (${sql.raw(pattern.sqliteBad(`"${column.replaceAll('"', '""')}"`))}))`
      : sql`(${value} is not null and ${value} !~ ${pattern.pgGood})`;
  const counts = await sql<{ bad: number | string; total: number | string }>`select sum(case when ${bad} then 1 else 0 end) as bad, count(${value}) as total from ${sql.table(table)}`.execute(db);
  const row = counts.rows[0];
  const badCount = Number(row?.bad ?? 0);
  let sample: string[] = [];
  if (badCount > 0 && idColumn) {
    sample = (await sql<{ id: string }>`select ${sql.ref(idColumn)} as id from ${sql.table(table)} where ${bad} limit 5`.execute(db)).rows.map((r) => String(r.id));
  }
  return { bad: badCount, total: Number(row?.total ?? 0), sample };
};

const ID_COLUMNS: Record<string, string> = {
  audit_entries: 'seq',
  accounts: 'id',
  rooms: 'id',
  messages: 'id',
  files: 'id',
  message_edits: 'message_id',
  events: 'id',
  sessions: 'id',
  api_tokens: 'id',
  invites: 'id',
  message_terms: 'message_id',
  root_keys: 'id',
  data_keys: 'owner_id',
  server_state: 'id',
  two_factor: 'account_id',
  two_factor_recovery_codes: 'account_id',
  login_challenges: 'account_id',
  mail_outbox: 'id',
  password_resets: 'id',
  incidents: 'id',
  incident_updates: 'id',
  incident_scopes: 'id',
  incident_mailings: 'id',
  incoming_hooks: 'id',
  outgoing_hooks: 'id',
  hook_deliveries: 'id',
};

/**
 * Reads every table and column: what is not ciphertext (or hash) where it belongs, what the schema does not
 * know, accounts on legacy hashes, and rooms or instances without keys. Needs no key: it checks forms.
 */
export const scanStorage = async (db: Kysely<Schema>, engine: Engine): Promise<ScanFinding[]> => {
  const findings: ScanFinding[] = [];
  const tables = await listTables(db, engine);
  let checkedValues = 0;
  for (const table of tables) {
    if (INFRASTRUCTURE_TABLES.has(table)) continue;
    const known = STORED_COLUMNS[table];
    if (!known) {
      findings.push({
        level: 'fail',
        message: `Table ${table} (${(await countRows(db, table)).toLocaleString('en-US')} rows) is not part of Conclave's schema: a leftover (a migration's, an import's, a person's)? Nothing in it is protected. Export what you must keep, then drop it.`,
      });
      continue;
    }
    for (const column of await listColumns(db, engine, table)) {
      const form = known[column];
      if (form === undefined) {
        findings.push({ level: 'fail', message: `Column ${table}.${column} is not part of Conclave's schema; what it holds is not protected. Drop it once you have what you need from it.` });
        continue;
      }
      if (form === 'plain' || form === 'password-hash') continue;
      const result = await countMisfits(db, engine, table, column, form, ID_COLUMNS[table]);
      checkedValues += result.total;
      if (result.bad > 0) {
        findings.push({
          level: 'fail',
          message: `${table}.${column}: ${result.bad.toLocaleString('en-US')} of ${result.total.toLocaleString('en-US')} value(s) are not ${form === 'sealed' ? 'ciphertext' : `a ${form}`}${result.sample.length > 0 ? ` (rows ${result.sample.join(', ')})` : ''}. Start the server once to seal values left in clear; investigate if that does not clear it.`,
        });
      }
    }
  }
  findings.push(...(await scanPasswordHashes(db)), ...(await scanKeyCoverage(db)));
  if (!findings.some((f) => f.level !== 'ok')) {
    findings.push({ level: 'ok', message: `${tables.length} tables read, ${checkedValues.toLocaleString('en-US')} protected values checked: every one is ciphertext or a hash, and nothing is outside the schema.` });
  }
  return findings;
};

/** Wrapped legacy hashes (an import's, re-hashed under argon2id until the person logs in) and anything worse. */
export const LEGACY_HASH_PREFIX = '$conclave-legacy$';

const countAccountsWhere = async (db: Kysely<Schema>, legacy: boolean): Promise<number> => {
  let query = db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n'));
  query = legacy
    ? query.where('password_hash', 'like', `${LEGACY_HASH_PREFIX}%`)
    : query.where('password_hash', 'not like', '$argon2id$%').where('password_hash', 'not like', `${LEGACY_HASH_PREFIX}%`);
  return Number((await query.executeTakeFirstOrThrow()).n);
};

const scanPasswordHashes = async (db: Kysely<Schema>): Promise<ScanFinding[]> => {
  const findings: ScanFinding[] = [];
  const legacy = await countAccountsWhere(db, true);
  const foreign = await countAccountsWhere(db, false);
  if (legacy > 0) findings.push({ level: 'warn', message: `${legacy} account(s) are still on a wrapped legacy hash; they move to argon2id at their next log-in (or reset them).` });
  if (foreign > 0) findings.push({ level: 'fail', message: `${foreign} account(s) have a password hash that is not argon2id: force a reset for them.` });
  return findings;
};

const scanKeyCoverage = async (db: Kysely<Schema>): Promise<ScanFinding[]> => {
  const roomsWithoutKeys = await db
    .selectFrom('rooms')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => eb.not(eb.exists(eb.selectFrom('data_keys').select('owner_id').whereRef('data_keys.owner_id', '=', 'rooms.id'))))
    .executeTakeFirstOrThrow();
  const instancesWithoutKeys = await db
    .selectFrom('instances')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => eb.not(eb.exists(eb.selectFrom('root_keys').select('id').whereRef('root_keys.instance_id', '=', 'instances.id').where('purpose', '=', 'kek'))))
    .executeTakeFirstOrThrow();
  const findings: ScanFinding[] = [];
  if (Number(roomsWithoutKeys.n) > 0) findings.push({ level: 'fail', message: `${Number(roomsWithoutKeys.n)} room(s) have no data key; start the server once to make them.` });
  if (Number(instancesWithoutKeys.n) > 0) findings.push({ level: 'fail', message: `${Number(instancesWithoutKeys.n)} instance(s) have no key-encryption key; start the server once to make them.` });
  return findings;
};
