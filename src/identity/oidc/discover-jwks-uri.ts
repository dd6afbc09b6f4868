/** Finds an issuer's JWKS URL through OpenID Connect discovery (`<issuer>/.well-known/openid-configuration`). */
import { IdTokenRefusal } from './id-token-refusal.js';
import { keyUrlProblem } from './issuer-url.js';

/** Fetches JSON from a URL; `what` names the document in refusals. */
export type FetchJson = (url: string, what: string) => Promise<unknown>;

/** The `jwks_uri` the issuer's discovery document names, checked to be https (or loopback http). */
export async function discoverJwksUri(issuer: string, fetchJson: FetchJson): Promise<string> {
  // OpenID Connect Discovery 1.0 §4: the path is appended to the issuer, whose own path is kept.
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const document = await fetchJson(url, 'the discovery document');
  const refuse = (problem: string) =>
    new IdTokenRefusal('keys-unavailable', `the discovery document at ${url} ${problem}`);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw refuse('is not a JSON object');
  }
  const fields = document as Record<string, unknown>;
  // §4.3: a document naming another issuer must not be used (it could hand us someone else's keys).
  if (fields.issuer !== issuer) throw refuse(`names another issuer, not ${issuer}`);
  const jwksUri = fields.jwks_uri;
  if (typeof jwksUri !== 'string') throw refuse('has no jwks_uri');
  const problem = keyUrlProblem(jwksUri);
  if (problem !== null) throw refuse(`names a jwks_uri that ${problem}`);
  return jwksUri;
}
