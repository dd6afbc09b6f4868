/** A role's approval settings (`roles.<role>.approval`), read strictly: a typo must never skip a human. */
import { parseDuration } from '../config/duration.js';

/** How a role's held statements are approved. */
export interface ApprovalSettings {
  /** How long a held statement waits for reviewers before it is refused (57014). */
  readonly timeoutMs: number;
  /** Distinct reviewers that must approve. */
  readonly approvers: number;
  /** `statement`: each held batch; `run`: one approval covers the same normalized statement for the rest of the CI run. */
  readonly scope: 'statement' | 'run';
  /**
   * `approve` (default): DELETE/UPDATE without WHERE, TRUNCATE, DROP and ALTER of a table need approval
   * even where an allow rule grants them; `allow`: they follow the allow rules like anything else.
   */
  readonly destructive: 'approve' | 'allow';
}

export interface ApprovalSettingsIssue {
  readonly key: string;
  readonly problem: string;
  readonly fix: string;
}

export const DEFAULT_APPROVAL_SETTINGS: ApprovalSettings = Object.freeze({
  timeoutMs: 15 * 60_000,
  approvers: 1,
  scope: 'statement',
  destructive: 'approve',
});

const KEYS = ['timeout', 'approvers', 'scope', 'destructive'] as const;
/** A held statement keeps an upstream connection open; a day is the most anyone should wait. */
const MAX_TIMEOUT_MS = 24 * 3_600_000;
const MAX_APPROVERS = 10;

/** Reads `roles.<role>.approval`; the defaults when absent. */
export function readApprovalSettings(
  role: string,
  value: unknown,
  issues: ApprovalSettingsIssue[],
): ApprovalSettings {
  const base = `roles.${role}.approval`;
  if (value === undefined || value === null) return DEFAULT_APPROVAL_SETTINGS;
  if (typeof value !== 'object' || Array.isArray(value)) {
    issues.push({
      key: base,
      problem: 'is not a mapping',
      fix: 'write approval: { timeout: 15m, approvers: 1, scope: statement }',
    });
    return DEFAULT_APPROVAL_SETTINGS;
  }
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      issues.push({
        key: `${base}.${key}`,
        problem: 'is not a known key',
        fix: `remove it or fix the spelling (known keys: ${KEYS.join(', ')})`,
      });
    }
  }
  return {
    timeoutMs: readTimeout(own(fields, 'timeout'), `${base}.timeout`, issues),
    approvers: readApprovers(own(fields, 'approvers'), `${base}.approvers`, issues),
    scope: readChoice(own(fields, 'scope'), `${base}.scope`, ['statement', 'run'], 'statement', issues),
    destructive: readChoice(
      own(fields, 'destructive'),
      `${base}.destructive`,
      ['approve', 'allow'],
      'approve',
      issues,
    ),
  };
}

function readTimeout(value: unknown, key: string, issues: ApprovalSettingsIssue[]): number {
  if (value === undefined || value === null) return DEFAULT_APPROVAL_SETTINGS.timeoutMs;
  const fix = 'write a duration between 1s and 24h, e.g. 15m';
  let ms: number;
  try {
    if (typeof value !== 'string' && typeof value !== 'number') throw new Error('not a duration');
    ms = parseDuration(value);
  } catch {
    issues.push({ key, problem: `${JSON.stringify(value)} is not a duration`, fix });
    return DEFAULT_APPROVAL_SETTINGS.timeoutMs;
  }
  if (ms < 1000 || ms > MAX_TIMEOUT_MS) {
    issues.push({ key, problem: `${JSON.stringify(value)} is out of range`, fix });
    return DEFAULT_APPROVAL_SETTINGS.timeoutMs;
  }
  return ms;
}

function readApprovers(value: unknown, key: string, issues: ApprovalSettingsIssue[]): number {
  if (value === undefined || value === null) return DEFAULT_APPROVAL_SETTINGS.approvers;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_APPROVERS) {
    issues.push({
      key,
      problem: `${JSON.stringify(value)} is not a whole number from 1 to ${MAX_APPROVERS}`,
      fix: 'write how many distinct reviewers must approve, e.g. approvers: 2',
    });
    return DEFAULT_APPROVAL_SETTINGS.approvers;
  }
  return value;
}

function readChoice<T extends string>(
  value: unknown,
  key: string,
  choices: readonly T[],
  fallback: T,
  issues: ApprovalSettingsIssue[],
): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  issues.push({
    key,
    problem: `${JSON.stringify(value)} is not allowed`,
    fix: `use one of ${choices.join(', ')}`,
  });
  return fallback;
}

function own(fields: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(fields, key) ? fields[key] : undefined;
}
