/**
 * The one rule for URLs that a secret or a trust decision travels over (issuer keys, discovery, the
 * token exchange): https, or plain http only to this machine; never a user:password part.
 */
import { isLoopbackHost } from './loopback-host.js';

/** Why a URL may not be used; callers word it for their context. */
export type SecureUrlProblem =
  /** Not parseable as a URL. */
  | 'not-a-url'
  /** Carries user:password (it would be sent along and could end up in messages). */
  | 'credentials'
  /** Plain http to a host other than this machine. */
  | 'plain-http'
  /** Neither https nor http. */
  | 'other-scheme';

export type SecureUrlCheck =
  | { readonly ok: true; readonly url: URL }
  | { readonly ok: false; readonly problem: SecureUrlProblem; readonly url?: URL };

/** Parses `text` and applies the rule above. */
export function checkSecureUrl(text: string): SecureUrlCheck {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, problem: 'not-a-url' };
  }
  if (url.username !== '' || url.password !== '') return { ok: false, problem: 'credentials', url };
  if (url.protocol === 'https:') return { ok: true, url };
  // Plain http could be read or rewritten by anyone on the path; to this machine it never leaves it.
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname) ? { ok: true, url } : { ok: false, problem: 'plain-http', url };
  }
  return { ok: false, problem: 'other-scheme', url };
}
