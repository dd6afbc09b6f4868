/**
 * The decision: a statement's facts × a role's policy → allow, approve or deny. Deny rules win over
 * approve rules, approve over allow, and whatever no rule allows is denied. Pure.
 */
import { decideFeature, type Refusal } from './decide-feature.js';
import { formatQualifiedName } from './identifier-text.js';
import type {
  AnalysisResult,
  PolicyDecision,
  QualifiedName,
  RelationAccess,
  RolePolicy,
  StatementFacts,
} from './policy-types.js';
import { findRule } from './rule-match.js';
import { isSafeFunction } from './safe-functions.js';

const ALLOW: PolicyDecision = Object.freeze({ action: 'allow' });

/** Rule name when nothing in the role allows what a statement does. */
export const DEFAULT_DENY_RULE = 'default-deny';

/**
 * Decides a whole message: an analysis failure is denied (fail closed); otherwise the first denied
 * statement denies it, else the first statement needing approval, else it is allowed.
 */
export function decideAnalysis(result: AnalysisResult, policy: RolePolicy): PolicyDecision {
  if (!result.ok) {
    return {
      action: 'deny',
      reason: result.reason,
      rule: 'fail-closed',
      hint: 'Airlock refuses SQL it cannot analyse; rewrite the statement in plain SQL.',
    };
  }
  const { statements } = result;
  let approval: Refusal | undefined;
  for (const [index, facts] of statements.entries()) {
    const decision = decideStatement(facts, policy);
    if (decision.action === 'allow') continue;
    const numbered =
      statements.length > 1
        ? { ...decision, reason: `statement ${index + 1} of ${statements.length}: ${decision.reason}` }
        : decision;
    if (numbered.action === 'deny') return numbered;
    approval ??= numbered;
  }
  return approval ?? ALLOW;
}

/** Decides one statement: features, then table accesses, then function calls; deny wins over approve. */
export function decideStatement(facts: StatementFacts, policy: RolePolicy): PolicyDecision {
  let approval: Refusal | undefined;
  const decisions = [
    ...facts.features.map((feature) => () => decideFeature(feature, policy)),
    ...facts.accesses.map((access) => () => decideAccess(access, policy)),
    ...facts.functions.map((name) => () => decideFunction(name, policy)),
  ];
  for (const decide of decisions) {
    const decision = decide();
    if (decision.action === 'deny') return decision;
    if (decision.action === 'approve') approval ??= decision;
  }
  return approval ?? ALLOW;
}

/** One table access: a deny rule, else an approve rule, else an allow rule, else default deny. */
export function decideAccess(access: RelationAccess, policy: RolePolicy): PolicyDecision {
  const { relation, operation } = access;
  const table = formatQualifiedName(relation);
  const denied = findRule(policy.deny, relation, operation);
  if (denied !== undefined) {
    return {
      action: 'deny',
      reason: `"${operation}" on ${table} is denied by ${denied.source}`,
      rule: denied.source,
      hint: `${table} is denied by ${denied.source}; no agent of role ${policy.role} can reach it.`,
    };
  }
  const needsApproval = findRule(policy.approve, relation, operation);
  if (needsApproval !== undefined) {
    return {
      action: 'approve',
      reason: `"${operation}" on ${table} requires human approval (${needsApproval.source})`,
      rule: needsApproval.source,
      hint: `A human must approve this statement (${needsApproval.source}); ask an operator of role ${policy.role}.`,
    };
  }
  if (findRule(policy.allow, relation, operation) !== undefined) return ALLOW;
  return {
    action: 'deny',
    reason: `"${operation}" on ${table} is not allowed for role ${policy.role} (no rule in roles.${policy.role}.allow grants it)`,
    rule: DEFAULT_DENY_RULE,
    hint: `Ask an operator to add "${operation}" on ${table} to roles.${policy.role}.allow.`,
  };
}

/** One function call: the safe built-in default, or listed under the role's functions, else denied. */
export function decideFunction(name: QualifiedName, policy: RolePolicy): PolicyDecision {
  if (isSafeFunction(name)) return ALLOW;
  if (policy.functions.some((listed) => listed.schema === name.schema && listed.name === name.name))
    return ALLOW;
  const shown = formatQualifiedName(name);
  return {
    action: 'deny',
    reason: `function ${shown} is not allowed for role ${policy.role} (not in the safe built-in functions or roles.${policy.role}.functions)`,
    rule: DEFAULT_DENY_RULE,
    hint: `If role ${policy.role} needs it, ask an operator to add ${shown} to roles.${policy.role}.functions.`,
  };
}
