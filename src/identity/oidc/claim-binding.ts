/**
 * Picks the trust binding for a verified ID token: the first whose claim matchers all hold and whose
 * templates can be filled. Pure; a refusal names, per binding, only the claims that failed.
 */

import { CONTROL_CHARS } from '../token-text.js';
import { matchesGlob } from './claim-glob.js';
import { claimAsText, renderClaimTemplate } from './claim-template.js';
import type { ClaimMatcher, TrustBinding, TrustIssuer } from './trust-types.js';

/** The binding that applies and the texts it gives the token, or why none applies (one line per binding). */
export type BindingMatch =
  | {
      readonly ok: true;
      readonly binding: TrustBinding;
      readonly subject: string;
      readonly runId: string | null;
      readonly reason: string;
    }
  | { readonly ok: false; readonly failures: readonly string[] };

/** Longest claim value quoted in a failure: enough to spot a typo, not a dump of the token. */
const QUOTED_CLAIM_LENGTH = 80;

/** Finds the first binding of `issuer` that `claims` (already verified) satisfy. */
export function matchBinding(issuer: TrustIssuer, claims: Readonly<Record<string, unknown>>): BindingMatch {
  const failures: string[] = [];
  for (const binding of issuer.bindings) {
    const problems = binding.claims.flatMap((matcher) => matcherProblem(matcher, claims) ?? []);
    if (problems.length > 0) {
      failures.push(`${binding.source}: ${problems.join(', ')}`);
      continue;
    }
    const subject = renderClaimTemplate(binding.subject, claims);
    const runId = binding.runId === null ? null : renderClaimTemplate(binding.runId, claims);
    const reason = renderClaimTemplate(binding.reason, claims);
    const unfilled = [
      subject.ok ? null : `subject ${subject.problem}`,
      runId === null || runId.ok ? null : `run_id ${runId.problem}`,
      reason.ok ? null : `reason ${reason.problem}`,
    ].filter((problem) => problem !== null);
    if (!subject.ok || !reason.ok || (runId !== null && !runId.ok)) {
      failures.push(`${binding.source}: ${unfilled.join(', ')}`);
      continue;
    }
    return {
      ok: true,
      binding,
      subject: subject.text,
      runId: runId === null ? null : runId.text,
      reason: reason.text,
    };
  }
  if (failures.length === 0) failures.push(`${issuer.issuer} has no bindings`);
  return { ok: false, failures };
}

function matcherProblem(matcher: ClaimMatcher, claims: Readonly<Record<string, unknown>>): string | null {
  const expected = JSON.stringify(matcher.pattern);
  const value = Object.hasOwn(claims, matcher.claim) ? claims[matcher.claim] : undefined;
  if (value === undefined || value === null) return `${matcher.claim} is missing (expected ${expected})`;
  const text = claimAsText(value);
  if (text === null) return `${matcher.claim} is not text (expected ${expected})`;
  if (matchesGlob(matcher.pattern, text)) return null;
  return `${matcher.claim} ${quoteClaim(text)} does not match ${expected}`;
}

/** Quotes a claim value for a refusal: JSON-escaped, invisible and reordering characters spelled out, shortened. */
function quoteClaim(text: string): string {
  const short = text.length > QUOTED_CLAIM_LENGTH ? `${text.slice(0, QUOTED_CLAIM_LENGTH)}…` : text;
  return JSON.stringify(short).replace(
    new RegExp(CONTROL_CHARS.source, 'g'),
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
