/**
 * The CI token exchange: a pipeline's OIDC ID token in, a short-lived Airlock token for one role and run
 * out. Verified (signature, issuer, audience, times), bound (first matching binding), never twice
 * (replay refused), recorded (token.exchanged, for refusals too) before the secret is handed out.
 */

import type { JsonValue } from '../audit/audit-event.js';
import type { AuditRecorder } from '../audit/audited-guard.js';
import type { AirlockConfig } from '../config/config-types.js';
import type { Store } from '../store/store.js';
import { type IssuedToken, issueToken, TokenRequestError } from './issue-token.js';
import type { BindingMatch } from './oidc/claim-binding.js';
import { MAX_ID_TOKEN_LENGTH, type VerifiedIdToken } from './oidc/id-token-verifier.js';
import type { TrustBinding, TrustIssuer } from './oidc/trust-types.js';

/** Verification and binding, injected (src/identity/oidc/ implements them). */
export interface CiTokenChecks {
  /** Throws an Error carrying `reason` (safe to show) and `code` (e.g. `keys-unavailable`) when refused. */
  verify(jwt: string): Promise<VerifiedIdToken>;
  match(issuer: TrustIssuer, claims: Readonly<Record<string, unknown>>): BindingMatch;
}

export interface ExchangeDeps {
  readonly store: Store;
  readonly config: AirlockConfig;
  readonly audit: AuditRecorder;
  readonly checks: CiTokenChecks;
  readonly now: () => number;
}

export type ExchangeOutcome =
  | { readonly ok: true; readonly issued: IssuedToken; readonly binding: TrustBinding }
  | {
      /** 400 not a token, 401 not a valid ID token, 403 no binding, 409 replayed, 503 keys or audit unavailable. */
      readonly ok: false;
      readonly status: 400 | 401 | 403 | 409 | 503;
      readonly reason: string;
    };

/** Claims recorded per exchange, and the longest value kept of each. */
const RECORDED_CLAIMS = 40;
const RECORDED_CLAIM_LENGTH = 256;

/** Exchanges `token`; every outcome but a store failure is recorded in the audit trail. */
export async function exchangeCiToken(deps: ExchangeDeps, token: unknown): Promise<ExchangeOutcome> {
  if (typeof token !== 'string' || token === '' || token.length > MAX_ID_TOKEN_LENGTH) {
    return refuse(deps, { status: 400, reason: 'expected {"token": "<the CI job\'s OIDC ID token>"}' });
  }
  let verified: VerifiedIdToken;
  try {
    verified = await deps.checks.verify(token);
  } catch (error) {
    const { reason, code } = error as { reason?: unknown; code?: unknown };
    if (typeof reason !== 'string') throw error;
    return refuse(deps, { status: code === 'keys-unavailable' ? 503 : 401, reason, code: String(code) });
  }
  const claims = recordedClaims(verified.claims);
  const matched = deps.checks.match(verified.issuer, verified.claims);
  if (!matched.ok) {
    return refuse(deps, {
      status: 403,
      reason: `no trust binding of ${verified.issuer.issuer} matches this token: ${matched.failures.join('; ')}`,
      code: 'no-binding',
      issuer: verified.issuer.issuer,
      claims,
    });
  }
  if (!(await deps.store.rememberIdToken(verified.replayKey, verified.expiresAt, deps.now()))) {
    return refuse(deps, {
      status: 409,
      reason: 'this ID token was already exchanged; request a new one from the CI platform',
      code: 'replayed',
      issuer: verified.issuer.issuer,
      claims,
    });
  }
  const { binding } = matched;
  const ttlMs = Math.min(binding.maxTtlMs, deps.config.tokens.maxTtlMs);
  let issued: IssuedToken;
  try {
    issued = await issueToken(deps, {
      role: binding.role,
      subject: matched.subject,
      reason: matched.reason,
      runId: matched.runId,
      ttlMs,
    });
  } catch (error) {
    if (!(error instanceof TokenRequestError)) throw error;
    return refuse(deps, {
      status: 403,
      reason: `${binding.source} cannot issue a token for this ID token: ${error.message}`,
      code: 'not-issuable',
      issuer: verified.issuer.issuer,
      claims,
    });
  }
  try {
    await deps.audit.record({
      kind: 'token.exchanged',
      who: {
        tokenId: issued.tokenId,
        subject: issued.subject,
        role: issued.role,
        claims: stringClaims(claims),
      },
      why: { reason: issued.reason, runId: issued.runId },
      what: {
        outcome: 'issued',
        issuer: verified.issuer.issuer,
        binding: binding.source,
        idToken: verified.replayKey.startsWith('jti:') ? verified.replayKey : 'hash',
        idTokenExpiresAt: new Date(verified.expiresAt).toISOString(),
        expiresAt: new Date(issued.expiresAt).toISOString(),
        upstream: issued.upstream,
      },
    });
  } catch {
    // No record, no credential: the token is revoked before anyone saw its secret.
    await deps.store.revokeToken(issued.tokenId, deps.now());
    return {
      ok: false,
      status: 503,
      reason: 'the exchange could not be recorded in the audit trail; retry later',
    };
  }
  return { ok: true, issued, binding };
}

async function refuse(
  deps: ExchangeDeps,
  refusal: {
    status: 400 | 401 | 403 | 409 | 503;
    reason: string;
    code?: string;
    issuer?: string;
    claims?: Record<string, JsonValue>;
  },
): Promise<ExchangeOutcome> {
  const what: Record<string, JsonValue> = {
    outcome: 'refused',
    status: refusal.status,
    reason: refusal.reason,
  };
  if (refusal.code !== undefined) what.code = refusal.code;
  if (refusal.issuer !== undefined) what.issuer = refusal.issuer;
  await deps.audit
    .record({
      kind: 'token.exchanged',
      ...(refusal.claims === undefined ? {} : { who: { claims: stringClaims(refusal.claims) } }),
      what,
    })
    .catch(() => {});
  return { ok: false, status: refusal.status, reason: refusal.reason };
}

/** The token's scalar claims, bounded, for the audit trail (the token itself is never recorded). */
function recordedClaims(claims: Readonly<Record<string, unknown>>): Record<string, JsonValue> {
  const recorded: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(claims).slice(0, RECORDED_CLAIMS)) {
    if (typeof value === 'string') recorded[name] = value.slice(0, RECORDED_CLAIM_LENGTH);
    else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isSafeInteger(value)))
      recorded[name] = value;
    else if (Array.isArray(value) && value.every((item) => typeof item === 'string'))
      recorded[name] = value.join(' ').slice(0, RECORDED_CLAIM_LENGTH);
  }
  return recorded;
}

function stringClaims(claims: Record<string, JsonValue>): Record<string, string> {
  return Object.fromEntries(Object.entries(claims).map(([name, value]) => [name, String(value)]));
}
