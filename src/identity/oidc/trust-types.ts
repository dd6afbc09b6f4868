/** The `trust` section resolved: which CI issuers' ID tokens are exchanged for which roles. Pure data. */

/** Where an issuer's signing keys come from. */
export type IssuerKeySource =
  /** `<issuer>/.well-known/openid-configuration` → `jwks_uri` (the default). */
  | { readonly kind: 'discovery' }
  /** A JWKS URL given directly. */
  | { readonly kind: 'jwks-uri'; readonly uri: string }
  /** A JWKS file read at load time (air-gapped installs); its keys never change until a restart. */
  | {
      readonly kind: 'jwks-file';
      readonly path: string;
      readonly jwks: { readonly keys: readonly object[] };
    };

/**
 * One claim matcher: the claim's value (a string, or a number/boolean compared as text) must equal
 * `pattern`, where `*` matches any run of characters (including none) and nothing else is special.
 */
export interface ClaimMatcher {
  readonly claim: string;
  readonly pattern: string;
}

/**
 * A text built from claims: `{name}` is the claim's value (the binding does not apply when it is
 * missing), `{name?}` is the value or nothing; every other character is literal.
 */
export type ClaimTemplate = string;

export interface TrustBinding {
  /** Where it came from, e.g. `trust[0].bindings[1]` (audit, errors). */
  readonly source: string;
  /** Every matcher must hold; an empty list matches every token of the issuer. */
  readonly claims: readonly ClaimMatcher[];
  readonly role: string;
  /** Longest lifetime of a token issued through this binding. */
  readonly maxTtlMs: number;
  readonly subject: ClaimTemplate;
  /** Null: the token has no run id. */
  readonly runId: ClaimTemplate | null;
  readonly reason: ClaimTemplate;
}

export interface TrustIssuer {
  /** Exactly as the `iss` claim must read (e.g. https://token.actions.githubusercontent.com). */
  readonly issuer: string;
  /** The `aud` the ID token must carry. */
  readonly audience: string;
  readonly keys: IssuerKeySource;
  /** JWS algorithms accepted (asymmetric only; never `none` nor HS*). */
  readonly algorithms: readonly string[];
  /** Tolerance for `exp`, `nbf` and `iat`. */
  readonly clockSkewMs: number;
  /** First matching binding wins. */
  readonly bindings: readonly TrustBinding[];
}
