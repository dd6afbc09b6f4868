/**
 * Which startup parameters an agent may pass through to the upstream. Fail closed: anything that could
 * change identity, privileges, search path or protocol mode (options, replication, role,
 * session_authorization, search_path, …) is refused; only harmless formatting and timeout settings pass.
 */

/** Lower-cased names forwarded verbatim to the upstream StartupMessage. */
const FORWARDED = new Set([
  'application_name',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'bytea_output',
]);

/**
 * The gateway reads SQL text as UTF-8, so the upstream session must too: otherwise a statement's bytes
 * could mean one thing to the gateway's analyser and another to the server (a LATIN1 "é" in a table
 * name, a client-only encoding hiding a quote in a multibyte character). Agents may ask for UTF8 or
 * SQL_ASCII (what psql sends in a C locale); the upstream session is always opened with UTF8.
 * standard_conforming_strings is not accepted either: with it off, backslashes in strings change
 * where a string ends.
 */
const ACCEPTED_CLIENT_ENCODINGS = new Set(['utf8', 'unicode', 'sqlascii']);

/** Handled by the gateway itself, never forwarded. */
const CONSUMED = new Set(['user', 'database']);

export type StartupParameterCheck =
  | { readonly ok: true; readonly forwarded: Record<string, string>; readonly protocolOptions: string[] }
  | { readonly ok: false; readonly refused: string };

/** Splits the agent's parameters into forwarded ones and protocol options (`_pq_.*`), or names the first refused. */
export function checkStartupParameters(parameters: ReadonlyMap<string, string>): StartupParameterCheck {
  const forwarded: Record<string, string> = {};
  const protocolOptions: string[] = [];
  for (const [name, value] of parameters) {
    const key = name.toLowerCase();
    if (CONSUMED.has(key)) continue;
    if (name.startsWith('_pq_.')) {
      protocolOptions.push(name);
      continue;
    }
    if (key === 'client_encoding') {
      if (!ACCEPTED_CLIENT_ENCODINGS.has(value.toLowerCase().replace(/[^a-z0-9]/g, ''))) {
        return { ok: false, refused: `${name}=${value}` };
      }
      continue;
    }
    if (!FORWARDED.has(key)) return { ok: false, refused: name };
    forwarded[name] = value;
  }
  // The gateway parses SQL as the server will only if both read the same characters and the same
  // string syntax: pin them, overriding any ALTER ROLE/DATABASE … SET on the upstream.
  forwarded.client_encoding = 'UTF8';
  forwarded.standard_conforming_strings = 'on';
  return { ok: true, forwarded, protocolOptions };
}

/**
 * The upstream session's application_name: the token (and CI run) first, so a DBA looking at
 * pg_stat_activity sees which token a backend serves even after the server cuts the name to 63 bytes,
 * then the agent's own label if it sent one. Replaces whatever application_name the agent sent (under
 * any spelling of the name).
 */
export function withSessionLabel(
  forwarded: Readonly<Record<string, string>>,
  session: { readonly tokenId: string; readonly runId: string | null },
): Record<string, string> {
  const result: Record<string, string> = {};
  let agentLabel = '';
  for (const [name, value] of Object.entries(forwarded)) {
    if (name.toLowerCase() === 'application_name') agentLabel = value;
    else result[name] = value;
  }
  const run = session.runId === null ? '' : ` run:${session.runId}`;
  result.application_name = `airlock:${session.tokenId}${run}${agentLabel === '' ? '' : ` ${agentLabel}`}`;
  return result;
}
