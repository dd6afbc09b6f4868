/** Decides whether a URL may be used to reach an OIDC issuer: https, or plain http only to this machine (tests). */
import { isLoopbackHost } from '../../config/loopback-host.js';

/** Why `text` cannot be fetched for keys or discovery, or null when it can. */
export function keyUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    // Keys fetched over plain http could be swapped by anyone on the path, and with them every token.
    return 'is not an https URL (plain http is accepted only for loopback addresses)';
  }
  if (url.username !== '' || url.password !== '') return 'carries a user name or password';
  return null;
}

/** Why `text` cannot name an issuer (as `keyUrlProblem`, and no query or fragment), or null when it can. */
export function issuerUrlProblem(text: string): string | null {
  const problem = keyUrlProblem(text);
  if (problem !== null) return problem;
  const url = new URL(text);
  // OpenID Connect Core §2: an issuer identifier has no query or fragment.
  if (url.search !== '' || url.hash !== '') return 'has a query or fragment';
  return null;
}
