/** The decision for one statement feature (SET, COPY … PROGRAM, DO, LISTEN, …) under a role's policy. */
import type { PolicyDecision, RolePolicy, StatementFeature } from './policy-types.js';
import { isSafeSetting, REFUSED_SETTING_REASONS, SAFE_SETTING_NAMES } from './safe-settings.js';

/** A decision that is not `allow`. */
export type Refusal = Exclude<PolicyDecision, { action: 'allow' }>;

const ALLOW: PolicyDecision = Object.freeze({ action: 'allow' });

/** Rule name of refusals that no configuration lifts. */
export const BUILT_IN_RULE = 'built-in';

/** Features refused for every role, with why and what to do instead. */
const ALWAYS_REFUSED: Readonly<Record<string, { readonly what: string; readonly hint: string }>> = {
  'copy-file-or-program': {
    what: 'COPY to or from a file or program on the database server',
    hint: 'Use COPY … TO STDOUT or COPY … FROM STDIN: agents never reach the server’s files or run programs on it.',
  },
  'do-block': {
    what: 'DO blocks (procedural code the gateway cannot inspect)',
    hint: 'Send the statements themselves, one by one.',
  },
  load: {
    what: 'LOAD (it loads a shared library into the server)',
    hint: 'Libraries are installed by database administrators, not through the gateway.',
  },
  'two-phase-commit': {
    what: 'two-phase commit (prepared transactions outlive the session and hold their locks)',
    hint: 'Use an ordinary COMMIT.',
  },
  privilege: {
    what: 'GRANT, REVOKE and role management',
    hint: 'Privileges are managed by the database administrators; ask an operator to change the role instead.',
  },
  'server-admin': {
    what: 'server administration (ALTER SYSTEM, extensions, databases, tablespaces, CHECKPOINT, …)',
    hint: 'Server administration is done by the database administrators, not through the gateway.',
  },
  'non-table-ddl': {
    what: 'DDL on objects other than tables (functions, types, schemas, triggers, …)',
    hint: 'Such objects are created by migrations run by the database owners, not through the gateway.',
  },
  listen: {
    what: 'LISTEN (notification channels are shared by every session of the database)',
    hint: 'Read the data you need with SELECT instead.',
  },
  notify: {
    what: 'NOTIFY (it signals every application listening on the database)',
    hint: 'Write the data you need to share to a table your role may write.',
  },
};

/** Decides one feature: allowed, or refused naming the feature and why. */
export function decideFeature(feature: StatementFeature, policy: RolePolicy): PolicyDecision {
  switch (feature.feature) {
    case 'set':
    case 'reset':
      return decideSetting(feature.feature, feature.detail, policy);
    case 'read-write-transaction':
      if (!policy.readOnly) return ALLOW;
      return {
        action: 'deny',
        reason: `a read-write transaction is refused: role ${policy.role} may not write (no allow or approve rule grants a write)`,
        rule: 'read-only',
        hint: `Use a plain BEGIN. Sessions of role ${policy.role} are read-only; an operator can grant writes in roles.${policy.role}.allow.`,
      };
    case 'execute':
      return {
        action: 'deny',
        reason: `EXECUTE${feature.detail === undefined ? '' : ` ${feature.detail}`}: unknown prepared statement`,
        rule: 'fail-closed',
        hint: 'PREPARE the statement in this session first; only statements prepared here can be executed.',
      };
    case 'destructive':
      if (policy.destructive === 'allow') return ALLOW;
      return {
        action: 'approve',
        reason: `${feature.detail ?? 'a destructive statement'} needs human approval`,
        rule: `roles.${policy.role}.approval.destructive`,
        hint: `A reviewer must approve it; roles.${policy.role}.approval.destructive: allow lifts this for the role.`,
      };
    case 'call':
    case 'prepare':
    case 'deallocate':
    case 'declare-cursor':
    case 'cursor-use':
    case 'unlisten':
    case 'discard':
      // Their inner statement, cursor query or procedure is judged through the statement's other facts.
      return ALLOW;
    default: {
      const refused = Object.hasOwn(ALWAYS_REFUSED, feature.feature)
        ? ALWAYS_REFUSED[feature.feature]
        : undefined;
      if (refused !== undefined) {
        const detail = feature.detail === undefined ? '' : ` (${feature.detail})`;
        return {
          action: 'deny',
          reason: `${refused.what}${detail} is refused for every role`,
          rule: BUILT_IN_RULE,
          hint: refused.hint,
        };
      }
      // A feature this code does not know (a newer analyzer): fail closed.
      return {
        action: 'deny',
        reason: `the statement uses ${String(feature.feature)}, which the policy cannot judge`,
        rule: 'fail-closed',
        hint: 'Rewrite the statement without it, or ask an operator to report it.',
      };
    }
  }
}

function decideSetting(
  verb: 'set' | 'reset',
  detail: string | undefined,
  policy: RolePolicy,
): PolicyDecision {
  const statement = verb === 'set' ? 'SET' : 'RESET';
  if (detail === undefined || detail === '') {
    return {
      action: 'deny',
      reason: `${statement} of a setting whose name cannot be determined is refused`,
      rule: 'fail-closed',
      hint: 'Name the setting literally.',
    };
  }
  const name = detail.toLowerCase();
  // RESET ALL returns to the gateway's pinned startup values (search_path, read-only), so it is safe.
  if (isSafeSetting(name) || (verb === 'reset' && name === 'all')) return ALLOW;
  const why = REFUSED_SETTING_REASONS.get(name) ?? 'it is not among the settings agents may change';
  return {
    action: 'deny',
    reason: `${statement} ${name} is refused: ${why}`,
    rule: BUILT_IN_RULE,
    hint: REFUSED_SETTING_REASONS.has(name)
      ? `Role ${policy.role}'s sessions keep the ${name} the gateway set.`
      : `Settings agents may change: ${[...SAFE_SETTING_NAMES].join(', ')}.`,
  };
}
