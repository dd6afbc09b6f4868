/** Decides whether a URL may be used to reach an OIDC issuer: https, or plain http only to this machine (tests). */
import { checkSecureUrl } from '../../config/secure-url.js';

/** Why `text` cannot be fetched for keys or discovery, or null when it can. */
export function keyUrlProblem(text: string): string | null {
  const check = checkSecureUrl(text);
  if (check.ok) return null;
  switch (check.problem) {
    case 'not-a-url':
      return 'is not a URL';
    case 'credentials':
      return 'carries a user name or password';
    default:
      // Keys fetched over plain http could be swapped by anyone on the path, and with them every token.
      return 'is not an https URL (plain http is accepted only for loopback addresses)';
  }
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
