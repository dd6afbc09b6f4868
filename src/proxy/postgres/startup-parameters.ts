/**
 * Which startup parameters an agent may pass through to the upstream. Fail closed: anything that could
 * change identity, privileges, search path or protocol mode (options, replication, role,
 * session_authorization, search_path, …) is refused; only harmless formatting and timeout settings pass.
 */

/** Lower-cased names forwarded verbatim to the upstream StartupMessage. */
const FORWARDED = new Set([
  'application_name',
  'client_encoding',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'bytea_output',
  'standard_conforming_strings',
]);

/**
 * PostgreSQL's client-only encodings (and their aliases, normalised): a multibyte character's second
 * byte may be 0x5C (backslash) or a quote, so the gateway would read string boundaries differently from
 * the server. Refused; UTF8, SQL_ASCII, LATIN*, WIN125x, EUC_* and the other server encodings are safe.
 */
const UNSAFE_CLIENT_ENCODINGS = new Set([
  'sjis',
  'shiftjis',
  'mskanji',
  'win932',
  'cp932',
  'big5',
  'win950',
  'cp950',
  'gbk',
  'win936',
  'cp936',
  'uhc',
  'win949',
  'cp949',
  'gb18030',
  'johab',
]);

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
    if (!FORWARDED.has(key)) return { ok: false, refused: name };
    if (key === 'client_encoding' && isUnsafeClientEncoding(value))
      return { ok: false, refused: `${name}=${value}` };
    forwarded[name] = value;
  }
  return { ok: true, forwarded, protocolOptions };
}

/** True for encodings whose multibyte characters can contain ASCII bytes (see UNSAFE_CLIENT_ENCODINGS). */
export function isUnsafeClientEncoding(value: string): boolean {
  return UNSAFE_CLIENT_ENCODINGS.has(value.toLowerCase().replace(/[^a-z0-9]/g, ''));
}
