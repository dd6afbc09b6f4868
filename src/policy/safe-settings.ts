/**
 * Settings an agent may SET or RESET: ones that shape how results look and how long the agent is
 * willing to wait, and nothing that changes who it is, what it can reach, how the gateway parses its
 * SQL, or the server's resources.
 */

/**
 * Lower-case setting names. Refused on purpose, for example: role and session_authorization (identity),
 * search_path (pinned so names resolve as the gateway judged them), default_transaction_read_only and
 * transaction_read_only (the read-only backstop), client_encoding and standard_conforming_strings (they
 * change how the server reads SQL text, which would let it differ from what the gateway analysed),
 * work_mem and other resource settings (an agent must not size the server's memory), row_security,
 * session_replication_role.
 */
export const SAFE_SETTING_NAMES: ReadonlySet<string> = new Set([
  'application_name',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
  'client_min_messages',
  'bytea_output',
  'default_transaction_isolation',
  'transaction_isolation',
  'default_transaction_deferrable',
  'transaction_deferrable',
]);

/** Why some well-known settings are refused, for the agent's message (the rest: not in the safe list). */
export const REFUSED_SETTING_REASONS: ReadonlyMap<string, string> = new Map([
  ['role', 'the role is fixed by the gateway'],
  ['session_authorization', 'the session user is fixed by the gateway'],
  ['search_path', 'the gateway pins the search_path so names resolve as it judged them'],
  ['default_transaction_read_only', 'sessions of read-only roles stay read-only'],
  ['transaction_read_only', 'sessions of read-only roles stay read-only'],
  ['client_encoding', 'the gateway and the server must read SQL text the same way'],
  ['standard_conforming_strings', 'the gateway and the server must read string literals the same way'],
]);

/** True when agents may SET or RESET `name` (compared case-insensitively, as the server does). */
export function isSafeSetting(name: string): boolean {
  return SAFE_SETTING_NAMES.has(name.toLowerCase());
}
