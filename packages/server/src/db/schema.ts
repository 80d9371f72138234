import type { ColumnType, Generated } from 'kysely';

/** The tables as Kysely sees them. Times are integer milliseconds since the epoch; booleans are 0/1. */
export interface AccountsTable {
  id: string;
  /** Sealed (server data key). */
  email: string;
  /** Blind index: HMAC(server index key, normalized email), the lookup key. */
  email_key: string;
  /** Sealed (server data key). */
  display_name: string;
  password_hash: string;
  is_operator: number;
  /** Credential epoch: sessions created before this are dead. */
  not_before: number;
  /** Set: the password on record no longer logs in; a reset is required (forced by an admin, an incident or an import). */
  reset_required_at: number | null;
  /** Set: two-factor authentication is on (the secret is in two_factor). */
  two_factor_enabled_at: number | null;
  created_at: number;
  updated_at: number;
  /** Set for a bot: the instance admin who owns it. A bot never logs in with a password (0011-integrations). */
  bot_owner_id: Generated<string | null>;
}

export interface InstancesTable {
  id: string;
  slug: string;
  /** Sealed (the instance's data key). */
  name: string;
  signup_mode: 'open' | 'invite';
  /** Who must have two-factor authentication on to enter the instance. */
  two_factor_required: 'off' | 'admins' | 'everyone';
  not_before: number;
  created_at: number;
  updated_at: number;
  /** The upload limit of this instance; null: the server's FILE_MAX_BYTES. */
  file_max_bytes: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface MembershipsTable {
  instance_id: string;
  account_id: string;
  role: 'owner' | 'admin' | 'member';
  created_at: number;
  /** Credential epoch of this person in this instance: their sessions and tokens created before it have no access here. */
  not_before: Generated<number>;
}

export interface SessionsTable {
  id: string;
  /** SHA-256 of the session token; the token itself is never stored. */
  token_hash: string;
  account_id: string;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  expires_at: number;
  /** Sealed (server data key, bound to the session id): the client address it logged in from. Null: not known. */
  ip: string | null;
  /** Sealed (server data key, bound to the session id): the user agent it logged in with. */
  user_agent: string | null;
}

/** Personal API tokens: `Authorization: Bearer cnv_pat_…`, limited to their scopes and their owner's rights. */
export interface ApiTokensTable {
  id: string;
  account_id: string;
  /** Sealed (server data key, bound to the token id). */
  name: string;
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  /** Space-separated scopes: read, write, admin. */
  scopes: string;
  created_at: number;
  /** Written at most once a minute. */
  last_used_at: number | null;
  /** Null: no expiry (credential epochs still end it). */
  expires_at: number | null;
}

export interface InvitesTable {
  id: string;
  instance_id: string;
  token_hash: string;
  email_key: string | null;
  role: 'admin' | 'member';
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: string | null;
}

/** One row (id = 1): server-wide state. */
export interface ServerStateTable {
  id: number;
  not_before: number;
  setup_token_hash: string | null;
  setup_completed_at: number | null;
  pepper_id: string | null;
  /** Fingerprint of the master key that wraps the root keys (never the key). */
  master_key_id: string | null;
  /** When the values stored in clear before encryption existed were sealed (null: not yet). */
  plaintext_sealed_at: number | null;
}

export interface RoomsTable {
  id: string;
  instance_id: string;
  kind: 'room' | 'direct';
  /** Sealed (the instance's data key), as is topic. */
  name: string;
  /** Rooms: blind index of the normalized name (uniqueness); direct chats: direct:<a>:<b>. */
  name_key: string;
  topic: string;
  privacy: 'public' | 'private';
  archived_at: number | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  last_message_at: number | null;
}

export interface RoomMembersTable {
  room_id: string;
  account_id: string;
  role: 'owner' | 'member';
  joined_at: number;
  last_read_message_id: string | null;
}

export interface MessagesTable {
  id: string;
  room_id: string;
  author_id: string;
  /** Sealed (the room's data key). */
  body: string;
  /** JSON: { accountIds: string[], here: boolean, all: boolean }. */
  mentions: string;
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
  deleted_by: string | null;
  /** Posted by an integration: sealed JSON { kind, id, name, icon } (the room's data key); null otherwise. */
  via: Generated<string | null>;
  /** Sealed JSON list of the files the message carries (the room's data key); null: none. */
  attachments: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface MessageEditsTable {
  message_id: string;
  /** Sealed (the room's data key), bound to message id and replaced_at. */
  body: string;
  replaced_at: number;
}

export interface MessageMentionsTable {
  message_id: string;
  room_id: string;
  account_id: string;
}

export interface ReactionsTable {
  message_id: string;
  account_id: string;
  emoji: string;
  created_at: number;
}

export interface EventsTable {
  seq: Generated<number>;
  /** UUIDv7: what the sealed payload is bound to (seq is not known before the insert). */
  id: string;
  instance_id: string | null;
  room_id: string | null;
  account_id: string | null;
  /** Who receives it: 'room' (its members), 'instance' (its members), 'account' (that person). */
  audience: 'room' | 'instance' | 'account';
  /** Sealed JSON: the room's, the instance's or the server's data key, by audience. */
  payload: string;
  created_at: number;
}

/** Keys wrapped by the master key: the server's data and index keys, each instance's KEKs and index key. */
export interface RootKeysTable {
  id: string;
  instance_id: string | null;
  purpose: 'server-data' | 'server-index' | 'kek' | 'index';
  version: number;
  wrapped: string;
  master_id: string;
  created_at: number;
}

/** Data keys of rooms and of instances (owner_id), wrapped by their instance's KEK of kek_version. */
export interface DataKeysTable {
  owner_id: string;
  version: number;
  instance_id: string;
  wrapped: string;
  kek_version: number;
  created_at: number;
}

/** The search index on PostgreSQL: one row per distinct word of a message, as a keyed blind index (never the word). */
export interface MessageTermsTable {
  term: string;
  message_id: string;
  room_id: string;
}

/** The search index on SQLite (FTS5, contentless): a message's terms as hex tokens; nothing reads back. */
export interface MessageSearchTable {
  rowid: number;
  terms: string | null;
}

/** SQLite: the message and room of each FTS5 row (deleting it deletes the index row). */
export interface MessageSearchRowsTable {
  search_rowid: Generated<number>;
  message_id: string;
  room_id: string;
}

/** One audit entry: a leaf of the audit Merkle tree (leaf_hash over its canonical encoding). */
export interface AuditEntriesTable {
  seq: number;
  at: number;
  action: string;
  instance_id: string | null;
  actor_id: string | null;
  session_id: string | null;
  room_id: string | null;
  /** Canonical JSON (sorted keys): what was read or changed, by id. */
  detail: string;
  /** Keyed HMACs of the client address and user agent: an investigator hashes a value to search for it. */
  ip_hash: string | null;
  ua_hash: string | null;
  leaf_hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
}

export interface AuditCheckpointsTable {
  size: number;
  root_hash: string;
  /** The signed note (C2SP tlog-checkpoint). */
  note: string;
  /** JSON list of the hex roots of the tree's perfect subtrees at this size (not trusted: checked against the signed root). */
  frontier: string;
  created_at: number;
}

/** An account's TOTP authenticator: pending until confirmed (enabled_at), then on. */
export interface TwoFactorTable {
  account_id: string;
  /** Sealed (server data key, bound to the account id): the base32 TOTP secret. */
  secret: string;
  enabled_at: number | null;
  /** The newest 30-second step a code was accepted for; codes of that step or older are refused. */
  last_used_step: number | null;
  /** Wrong codes since failures_since (the per-account limit on guessing). */
  failed_attempts: number;
  failures_since: number | null;
  created_at: number;
  updated_at: number;
}

/** Recovery codes, by SHA-256 only; each works once. */
export interface TwoFactorRecoveryCodesTable {
  account_id: string;
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

/** The pending second step of a log-in, by SHA-256 of its token. */
export interface LoginChallengesTable {
  token_hash: string;
  account_id: string;
  created_at: number;
  expires_at: number;
}

export type MailStatus = 'queued' | 'sending' | 'sent' | 'failed';
export type MailKind = 'password_reset' | 'password_changed' | 'incident_notice' | 'incident_report';

/** The transactional outbox: one row per mail (one recipient), delivered by the mail worker. */
export interface MailOutboxTable {
  id: string;
  /** One per cause (`password-reset:<reset id>`…): a second insert for the same cause is ignored. */
  idempotency_key: string;
  kind: MailKind;
  account_id: string | null;
  /** Sealed (server data key), bound to the mail id. Null: a mailing's mail, addressed when sent. */
  recipient: string | null;
  /** Sealed JSON { subject, text, html } (text and html dropped once sent: they may hold a reset link). Null: a mailing's mail, rendered when sent. */
  content: string | null;
  /** An incident mailing this mail belongs to (rendered from it when sent). */
  mailing_id: Generated<string | null>;
  status: MailStatus;
  attempts: number;
  next_attempt_at: number;
  /** Not delivered after this (a reset link that expired): failed instead. */
  expires_at: number | null;
  /** The node that claimed the mail for sending, and when (a lease: see docs/decisions/0014). */
  claimed_by: string | null;
  claimed_at: number | null;
  /** Sealed: the last SMTP error (it may name the recipient). */
  last_error: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
}

/** Password-reset tokens: SHA-256 only, single use, expiring. */
export interface PasswordResetsTable {
  id: string;
  account_id: string;
  token_hash: string;
  /** requested (the person asked), forced (an admin or operator), login (a forced account logged in). */
  reason: 'requested' | 'forced' | 'login';
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export type IncidentSeverity = 'SEV1' | 'SEV2' | 'SEV3';
export type IncidentStatus = 'investigating' | 'identified' | 'contained' | 'monitoring' | 'resolved';
/** Where a scope puts an account or an instance. */
export type IncidentSegment = 'affected' | 'possibly_affected' | 'not_affected';

export interface IncidentsTable {
  id: string;
  /** Human reference: INC-<number>. */
  number: number;
  /** Sealed (server data key, bound to the id). */
  title: string;
  severity: IncidentSeverity;
  status: IncidentStatus;
  /** When the operator became aware: the 72-hour notification deadline runs from here. */
  aware_at: number;
  declared_at: number;
  declared_by: string | null;
  resolved_at: number | null;
  /** Sealed JSON: components and the breach notice's fields. */
  details: string;
  /** On the public status page since (null: internal). */
  published_at: number | null;
  /** Sealed Markdown. */
  postmortem: string | null;
  postmortem_published_at: number | null;
  updated_at: number;
}

/** The incident's timeline. */
export interface IncidentUpdatesTable {
  id: string;
  incident_id: string;
  at: number;
  /** declared, update, status, scope, contain, notify, postmortem, published, resolved. */
  kind: string;
  /** The incident's status this entry set, if it set one. */
  status: IncidentStatus | null;
  /** Sealed text. */
  body: string;
  /** 1: on the status page (once the incident is published). */
  public: number;
  actor_id: string | null;
}

/** A saved scope: the segments of accounts and instances, as of one signed audit checkpoint. */
export interface IncidentScopesTable {
  id: string;
  incident_id: string;
  created_at: number;
  created_by: string | null;
  /** Sealed JSON: the selectors. */
  selectors: string;
  checkpoint_size: number;
  checkpoint_root: string;
  /** 1: the audit log verified up to the checkpoint when the scope was computed. */
  verified: number;
  /** The segment of every account and instance not listed. */
  default_segment: IncidentSegment;
  /** JSON: counts per segment. */
  counts: string;
}

export interface IncidentScopeAccountsTable {
  scope_id: string;
  account_id: string;
  segment: IncidentSegment;
  /** read, credentials, member: why the account is in its segment. */
  reason: string;
}

export interface IncidentScopeInstancesTable {
  scope_id: string;
  instance_id: string;
  segment: IncidentSegment;
  /** JSON: what the incident touched there. */
  summary: string;
}

/** A containment run: steps in order over a target, resumable from its cursor. */
export interface IncidentContainmentsTable {
  id: string;
  incident_id: string;
  scope_id: string | null;
  /** everyone, or a segment of the scope. */
  target: 'everyone' | IncidentSegment;
  /** JSON list: reset-passwords, end-sessions, rotate-keys. */
  steps: string;
  status: 'running' | 'done';
  step_index: number;
  cursor: string | null;
  done: number;
  total: number;
  /** The credential epoch this run sets (fixed at creation). */
  epoch: number;
  created_by: string | null;
  started_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** A notice sent to one target (everyone, a segment, or the instance admins): one mail per person. */
export interface IncidentMailingsTable {
  id: string;
  incident_id: string;
  scope_id: string | null;
  target: 'everyone' | IncidentSegment | 'admins';
  template: 'action-required' | 'precautionary' | 'reassurance' | 'follow-up' | 'admin-report';
  /** Sealed JSON { subject, body } of a follow-up. */
  message: string | null;
  rate_per_second: number;
  status: 'queuing' | 'queued';
  cursor: string | null;
  queued: number;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

/** Revocations made in one process for every serving node to apply (read in order of seq). */
export interface RevocationLogTable {
  seq: Generated<number>;
  /** JSON revoke scope. */
  scope: string;
  created_at: number;
}

/** A room's incoming webhook: its secret URL's token as SHA-256 only; it posts as its bot account. */
export interface IncomingHooksTable {
  id: string;
  instance_id: string;
  room_id: string;
  bot_account_id: string;
  /** Sealed (the instance's data key). */
  name: string;
  token_hash: string;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** A room's outgoing webhook: the events it subscribes to and where they go. */
export interface OutgoingHooksTable {
  id: string;
  instance_id: string;
  room_id: string;
  /** Sealed (the instance's data key). */
  name: string;
  /** Sealed JSON { url, secret, pattern } (the instance's data key). */
  target: string;
  /** Space-separated event kinds: message, member, topic, archive. */
  events: string;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
}

export type DeliveryStatus = 'queued' | 'sending' | 'delivered' | 'failed';

/** The outgoing webhooks' durable queue and delivery log (claimed with leases, like the mail outbox). */
export interface HookDeliveriesTable {
  id: string;
  hook_id: string;
  room_id: string;
  event_type: string;
  event_seq: number;
  /** Sealed (the room's data key): the JSON body as it will be sent. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  claimed_by: string | null;
  claimed_at: number | null;
  last_status_code: number | null;
  /** What went wrong last, in our words (never the receiver's body). */
  last_error: string | null;
  last_latency_ms: number | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

/** A file in a room (docs/decisions/0021): its bytes on disk, encrypted; its name and type sealed in meta. */
export interface FilesTable {
  id: string;
  instance_id: string;
  room_id: string;
  message_id: string;
  uploader_id: string;
  /** Sealed JSON (the room's data key): { name, contentType }. */
  meta: string;
  /** The room data key version the file's key is derived from. */
  key_version: number;
  size_bytes: number;
  has_preview: number;
  created_at: number;
}

/** What an import made of each thing it brought in (Slack ids → Conclave ids), so a rerun adds nothing twice. */
export interface ImportMappingsTable {
  source: string;
  instance_id: string;
  kind: string;
  source_id: string;
  target_id: string;
  created_at: number;
}

export interface Schema {
  accounts: AccountsTable;
  instances: InstancesTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  invites: InvitesTable;
  server_state: ServerStateTable;
  rooms: RoomsTable;
  room_members: RoomMembersTable;
  messages: MessagesTable;
  message_edits: MessageEditsTable;
  message_mentions: MessageMentionsTable;
  reactions: ReactionsTable;
  events: EventsTable;
  root_keys: RootKeysTable;
  data_keys: DataKeysTable;
  message_terms: MessageTermsTable;
  message_search: MessageSearchTable;
  message_search_rows: MessageSearchRowsTable;
  audit_entries: AuditEntriesTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  two_factor: TwoFactorTable;
  two_factor_recovery_codes: TwoFactorRecoveryCodesTable;
  login_challenges: LoginChallengesTable;
  mail_outbox: MailOutboxTable;
  password_resets: PasswordResetsTable;
  incidents: IncidentsTable;
  incident_updates: IncidentUpdatesTable;
  incident_scopes: IncidentScopesTable;
  incident_scope_accounts: IncidentScopeAccountsTable;
  incident_scope_instances: IncidentScopeInstancesTable;
  incident_containments: IncidentContainmentsTable;
  incident_mailings: IncidentMailingsTable;
  revocation_log: RevocationLogTable;
  incoming_hooks: IncomingHooksTable;
  outgoing_hooks: OutgoingHooksTable;
  hook_deliveries: HookDeliveriesTable;
  files: FilesTable;
  import_mappings: ImportMappingsTable;
}
