/**
 * Reads the `trust` section (which CI issuers' ID tokens are exchanged for which roles) into TrustIssuers,
 * or reports every problem with its key and how to fix it. Strict: a typo here could hand a role to
 * every repository on GitHub, so unknown keys, catch-all bindings and symmetric algorithms are refused.
 */
import { describeType, quote } from '../../config/config-fields.js';
import { parseDuration } from '../../config/duration.js';
import { CONTROL_CHARS } from '../token-text.js';
import { CLAIM_NAME, MAX_RENDERED_LENGTH, parseClaimTemplate } from './claim-template.js';
import { issuerUrlProblem, keyUrlProblem } from './issuer-url.js';
import { readJwksFile } from './jwks-file.js';
import type { ClaimMatcher, IssuerKeySource, TrustBinding, TrustIssuer } from './trust-types.js';

/** One problem in the `trust` section: where (`key`), what is wrong, and what to do about it. */
export interface TrustConfigIssue {
  readonly key: string;
  readonly problem: string;
  readonly fix: string;
}

/** What reading the section needs from the rest of the config. */
export interface TrustConfigContext {
  /** Absolute directory `jwks_file` paths start from. */
  readonly baseDir: string;
  /** Configured role names (a binding must name one). */
  readonly roles: readonly string[];
  /** `tokens.max_ttl`: no binding may allow more. */
  readonly maxTtlMs: number;
}

/** JWS algorithms a trust entry may accept: asymmetric only (HS* would make the public key a signing secret). */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** Tolerance for `exp`, `nbf` and `iat` unless `clock_skew` says otherwise. */
export const DEFAULT_CLOCK_SKEW_MS = 60_000;
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const MIN_BINDING_TTL_MS = 60_000;

const ISSUER_KEYS = ['issuer', 'audience', 'keys', 'algorithms', 'clock_skew', 'bindings'];
const KEYS_KEYS = ['jwks_uri', 'jwks_file'];
const BINDING_KEYS = ['claims', 'role', 'ttl', 'subject', 'run_id', 'reason'];
const DURATION_FIX = 'write a whole number with a unit s, m or h, e.g. 20m';
const KEYS_FIX =
  'write discovery (the default), { jwks_uri: https://issuer.example/keys } or { jwks_file: ./issuer-jwks.json }';
const TEMPLATE_FIX =
  'write text with claims in braces, e.g. "github:{repository}:{workflow}"; {name?} may be missing';

/** Reads `trust` (absent or null: no issuers); every problem is appended to `issues`. */
export function readTrustConfig(
  value: unknown,
  context: TrustConfigContext,
  issues: TrustConfigIssue[],
): TrustIssuer[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    issues.push({
      key: 'trust',
      problem: `expected a list of issuers, got ${describeType(value)}`,
      fix: 'write "- issuer: https://token.actions.githubusercontent.com" with audience and bindings',
    });
    return [];
  }
  const trusted: TrustIssuer[] = [];
  const seen = new Map<string, string>();
  value.forEach((entry, index) => {
    const key = `trust[${index}]`;
    const issuer = readIssuer(entry, key, context, issues);
    if (issuer === undefined) return;
    const pair = `${issuer.issuer}\n${issuer.audience}`;
    const earlier = seen.get(pair);
    if (earlier !== undefined) {
      issues.push({
        key,
        problem: `repeats issuer ${quote(issuer.issuer)} with audience ${quote(issuer.audience)} of ${earlier}`,
        fix: `put all bindings for this issuer and audience in ${earlier}`,
      });
      return;
    }
    seen.set(pair, key);
    trusted.push(issuer);
  });
  return trusted;
}

function readIssuer(
  entry: unknown,
  key: string,
  context: TrustConfigContext,
  issues: TrustConfigIssue[],
): TrustIssuer | undefined {
  const fields = mapping(entry, key, ISSUER_KEYS, issues, 'write issuer, audience and bindings');
  if (fields === undefined) return undefined;
  const before = issues.length;
  const issuer = readIssuerUrl(fields.issuer, `${key}.issuer`, issues);
  const audience = readAudience(fields.audience, `${key}.audience`, issues);
  const keys = readKeySource(fields.keys, `${key}.keys`, context.baseDir, issues);
  const algorithms = readAlgorithms(fields.algorithms, `${key}.algorithms`, issues);
  const clockSkewMs = readDuration(fields.clock_skew, `${key}.clock_skew`, issues, {
    fallback: DEFAULT_CLOCK_SKEW_MS,
    min: 0,
    max: MAX_CLOCK_SKEW_MS,
  });
  const bindings = readBindings(fields.bindings, `${key}.bindings`, context, issues);
  if (issues.length > before) return undefined;
  return {
    issuer: issuer!,
    audience: audience!,
    keys: keys!,
    algorithms,
    clockSkewMs,
    bindings,
  };
}

function readIssuerUrl(value: unknown, key: string, issues: TrustConfigIssue[]): string | undefined {
  const fix =
    "write the issuer exactly as its tokens' iss claim reads, e.g. https://token.actions.githubusercontent.com or https://gitlab.com";
  if (value === undefined || value === null) return fail(issues, key, 'is required', fix);
  if (typeof value !== 'string') return fail(issues, key, `expected text, got ${describeType(value)}`, fix);
  if (value !== value.trim()) return fail(issues, key, 'has leading or trailing spaces', fix);
  const problem = issuerUrlProblem(value);
  if (problem !== null) return fail(issues, key, `${quote(value)} ${problem}`, fix);
  return value;
}

function readAudience(value: unknown, key: string, issues: TrustConfigIssue[]): string | undefined {
  const fix = 'write the audience the CI job requests its ID token for, e.g. airlock';
  if (value === undefined || value === null) return fail(issues, key, 'is required', fix);
  if (typeof value !== 'string') return fail(issues, key, `expected text, got ${describeType(value)}`, fix);
  if (value.trim() === '') return fail(issues, key, 'is empty', fix);
  return value;
}

function readKeySource(
  value: unknown,
  key: string,
  baseDir: string,
  issues: TrustConfigIssue[],
): IssuerKeySource | undefined {
  if (value === undefined || value === null || value === 'discovery') return { kind: 'discovery' };
  const fields = mapping(value, key, KEYS_KEYS, issues, KEYS_FIX);
  if (fields === undefined) return undefined;
  const given = KEYS_KEYS.filter((name) => fields[name] !== undefined && fields[name] !== null);
  if (given.length !== 1) {
    return fail(issues, key, given.length === 0 ? 'names no key source' : 'names two key sources', KEYS_FIX);
  }
  if (given[0] === 'jwks_uri') {
    const uri = fields.jwks_uri;
    const uriKey = `${key}.jwks_uri`;
    const fix =
      "write the https URL of the issuer's JWKS, e.g. https://token.actions.githubusercontent.com/.well-known/jwks";
    if (typeof uri !== 'string') return fail(issues, uriKey, `expected text, got ${describeType(uri)}`, fix);
    const problem = keyUrlProblem(uri);
    if (problem !== null) return fail(issues, uriKey, `${quote(uri)} ${problem}`, fix);
    return { kind: 'jwks-uri', uri };
  }
  const path = fields.jwks_file;
  const fileKey = `${key}.jwks_file`;
  if (typeof path !== 'string' || path.trim() === '') {
    return fail(issues, fileKey, 'expected a file path', 'write a path, e.g. ./github-jwks.json');
  }
  const read = readJwksFile(path, baseDir);
  if (!read.ok) return fail(issues, fileKey, read.problem, read.fix);
  return { kind: 'jwks-file', path: read.path, jwks: read.jwks as { readonly keys: readonly object[] } };
}

function readAlgorithms(value: unknown, key: string, issues: TrustConfigIssue[]): readonly string[] {
  if (value === undefined || value === null) return ASYMMETRIC_ALGORITHMS;
  const fix = `list asymmetric algorithms, e.g. [RS256]; accepted: ${ASYMMETRIC_ALGORITHMS.join(', ')}`;
  if (!Array.isArray(value) || value.length === 0) {
    fail(issues, key, Array.isArray(value) ? 'is empty' : `expected a list, got ${describeType(value)}`, fix);
    return ASYMMETRIC_ALGORITHMS;
  }
  const algorithms: string[] = [];
  value.forEach((algorithm, index) => {
    const itemKey = `${key}[${index}]`;
    if (typeof algorithm === 'string' && ASYMMETRIC_ALGORITHMS.includes(algorithm)) {
      if (!algorithms.includes(algorithm)) algorithms.push(algorithm);
    } else if (typeof algorithm === 'string' && /^(HS\d+|none)$/i.test(algorithm)) {
      // HS* with a public JWKS would let anyone who has the public key sign tokens; none signs nothing.
      fail(issues, itemKey, `${quote(algorithm)} is not a public-key signature algorithm`, fix);
    } else {
      fail(issues, itemKey, `${quote(algorithm)} is not an accepted algorithm`, fix);
    }
  });
  return algorithms;
}

function readBindings(
  value: unknown,
  key: string,
  context: TrustConfigContext,
  issues: TrustConfigIssue[],
): TrustBinding[] {
  const fix =
    'add "- claims: { repository: acme/shop }" with role (and optionally ttl, subject, run_id, reason)';
  if (value === undefined || value === null) return fail(issues, key, 'is required', fix) ?? [];
  if (!Array.isArray(value))
    return fail(issues, key, `expected a list, got ${describeType(value)}`, fix) ?? [];
  if (value.length === 0) return fail(issues, key, 'is empty', fix) ?? [];
  const bindings: TrustBinding[] = [];
  value.forEach((entry, index) => {
    const binding = readBinding(entry, `${key}[${index}]`, context, issues);
    if (binding !== undefined) bindings.push(binding);
  });
  return bindings;
}

function readBinding(
  entry: unknown,
  key: string,
  context: TrustConfigContext,
  issues: TrustConfigIssue[],
): TrustBinding | undefined {
  const fields = mapping(entry, key, BINDING_KEYS, issues, 'write claims and role');
  if (fields === undefined) return undefined;
  const before = issues.length;
  const claims = readMatchers(fields.claims, `${key}.claims`, issues);
  const role = readRole(fields.role, `${key}.role`, context.roles, issues);
  const maxTtlMs = readDuration(fields.ttl, `${key}.ttl`, issues, {
    fallback: context.maxTtlMs,
    min: MIN_BINDING_TTL_MS,
    max: context.maxTtlMs,
    maxName: 'tokens.max_ttl',
  });
  const subject = readTemplate(fields.subject, `${key}.subject`, '{sub}', issues);
  const runId =
    fields.run_id === undefined || fields.run_id === null
      ? null
      : readTemplate(fields.run_id, `${key}.run_id`, '', issues);
  const reason = readTemplate(fields.reason, `${key}.reason`, '{sub}', issues);
  if (issues.length > before) return undefined;
  return { source: key, claims, role: role!, maxTtlMs, subject, runId, reason };
}

function readMatchers(value: unknown, key: string, issues: TrustConfigIssue[]): ClaimMatcher[] {
  const fix =
    'name the claims a token must carry, e.g. { repository: acme/shop, ref: refs/heads/main }; * matches any text';
  if (value === undefined || value === null) {
    // Without matchers every token of the issuer would match: for GitHub, every repository in the world.
    return (
      fail(
        issues,
        key,
        'is required (a binding without claims would match every token of the issuer)',
        fix,
      ) ?? []
    );
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    return fail(issues, key, `expected a mapping, got ${describeType(value)}`, fix) ?? [];
  }
  const matchers: ClaimMatcher[] = [];
  for (const [claim, pattern] of Object.entries(value)) {
    const claimKey = `${key}.${claim}`;
    if (!CLAIM_NAME.test(claim)) {
      fail(
        issues,
        claimKey,
        `${quote(claim)} is not a claim name`,
        'claim names use letters, digits, _, . and -',
      );
      continue;
    }
    const text =
      typeof pattern === 'string' ||
      typeof pattern === 'boolean' ||
      (typeof pattern === 'number' && Number.isFinite(pattern))
        ? String(pattern)
        : null;
    if (text === null) {
      fail(
        issues,
        claimKey,
        `expected text, got ${describeType(pattern)}`,
        'write the value the claim must have; * matches any text',
      );
    } else if (text === '') {
      fail(issues, claimKey, 'is empty', 'write the value the claim must have; * matches any text');
    } else {
      matchers.push({ claim, pattern: text });
    }
  }
  if (matchers.length === 0 || matchers.every((matcher) => /^\*+$/.test(matcher.pattern))) {
    fail(issues, key, 'matches every token of the issuer', `${fix} (at least one claim must not be only *)`);
  }
  return matchers;
}

function readRole(
  value: unknown,
  key: string,
  roles: readonly string[],
  issues: TrustConfigIssue[],
): string | undefined {
  const defined =
    roles.length > 0 ? `defined roles: ${[...roles].sort().join(', ')}` : 'no roles are defined';
  if (value === undefined || value === null)
    return fail(issues, key, 'is required', `name a role (${defined})`);
  if (typeof value !== 'string' || !roles.includes(value)) {
    return fail(issues, key, `${quote(value)} is not a configured role`, `name a role (${defined})`);
  }
  return value;
}

function readTemplate(value: unknown, key: string, fallback: string, issues: TrustConfigIssue[]): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string')
    return fail(issues, key, `expected text, got ${describeType(value)}`, TEMPLATE_FIX) ?? fallback;
  if (value.trim() === '') return fail(issues, key, 'is empty', TEMPLATE_FIX) ?? fallback;
  if (CONTROL_CHARS.test(value))
    return fail(issues, key, 'contains control characters', TEMPLATE_FIX) ?? fallback;
  if (value.length > MAX_RENDERED_LENGTH) {
    return fail(issues, key, `is longer than ${MAX_RENDERED_LENGTH} characters`, TEMPLATE_FIX) ?? fallback;
  }
  const parsed = parseClaimTemplate(value);
  if (!parsed.ok) return fail(issues, key, parsed.problem, TEMPLATE_FIX) ?? fallback;
  return value;
}

function readDuration(
  value: unknown,
  key: string,
  issues: TrustConfigIssue[],
  limits: { fallback: number; min: number; max: number; maxName?: string },
): number {
  if (value === undefined || value === null) return limits.fallback;
  let ms: number;
  try {
    if (typeof value !== 'string' && typeof value !== 'number') throw new Error('not a duration');
    ms = parseDuration(value);
  } catch {
    return fail(issues, key, `${quote(value)} is not a duration`, DURATION_FIX) ?? limits.fallback;
  }
  if (ms < limits.min) return fail(issues, key, `must be at least ${formatMs(limits.min)}`, 'raise it') ?? ms;
  if (ms > limits.max) {
    const max =
      limits.maxName === undefined ? formatMs(limits.max) : `${limits.maxName} (${formatMs(limits.max)})`;
    return fail(issues, key, `must be at most ${max}`, 'lower it') ?? ms;
  }
  return ms;
}

/** The entry as a mapping with only `known` keys; each unknown key is its own issue. */
function mapping(
  value: unknown,
  key: string,
  known: readonly string[],
  issues: TrustConfigIssue[],
  fix: string,
): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(issues, key, `expected a mapping, got ${describeType(value)}`, fix);
  }
  const fields = value as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!known.includes(name)) {
      issues.push({
        key: `${key}.${name}`,
        problem: 'is not a known key',
        fix: `remove it or fix the spelling (known keys: ${known.join(', ')})`,
      });
    }
  }
  return fields;
}

function fail(issues: TrustConfigIssue[], key: string, problem: string, fix: string): undefined {
  issues.push({ key, problem, fix });
  return undefined;
}

/** Milliseconds in the largest whole unit the config syntax accepts (20m, 90s). */
function formatMs(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
