import type { Migration } from 'kysely';
import { foundation } from './0001-foundation.ts';
import { chat } from './0002-chat.ts';
import { encryption } from './0003-encryption.ts';
import { audit } from './0004-audit.ts';
import { searchIndex } from './0005-search-index.ts';
import { resetRequired } from './0006-reset-required.ts';
import { mailAndResets } from './0007-mail-and-resets.ts';
import { sessionsAndTokens } from './0008-sessions-and-tokens.ts';
import { twoFactor } from './0009-two-factor.ts';
import { incidents } from './0010-incidents.ts';
import { integrations } from './0011-integrations.ts';
import { files } from './0012-files.ts';

/** Every migration, in order. Names are fixed once shipped; add new ones at the end. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-chat': chat,
  '0003-encryption': encryption,
  '0004-audit': audit,
  '0005-search-index': searchIndex,
  '0006-reset-required': resetRequired,
  '0007-mail-and-resets': mailAndResets,
  '0008-sessions-and-tokens': sessionsAndTokens,
  '0009-two-factor': twoFactor,
  '0010-incidents': incidents,
  '0011-integrations': integrations,
  '0012-files': files,
};
