/** The tables as Kysely sees them. Times are integer milliseconds since the epoch; booleans are 0/1. */
export interface AccountsTable {
  id: string;
  email: string;
  /** Lower-cased, NFC-normalized email: the lookup key (a keyed blind index once encryption lands). */
  email_key: string;
  display_name: string;
  password_hash: string;
  is_operator: number;
  /** Credential epoch: sessions created before this are dead. */
  not_before: number;
  created_at: number;
  updated_at: number;
}

export interface InstancesTable {
  id: string;
  slug: string;
  name: string;
  signup_mode: 'open' | 'invite';
  not_before: number;
  created_at: number;
  updated_at: number;
}

export interface MembershipsTable {
  instance_id: string;
  account_id: string;
  role: 'owner' | 'admin' | 'member';
  created_at: number;
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
}

export interface Schema {
  accounts: AccountsTable;
  instances: InstancesTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  invites: InvitesTable;
  server_state: ServerStateTable;
}
