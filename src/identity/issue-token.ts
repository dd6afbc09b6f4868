/** Issues a short-lived token: validates the request, stores a SCRAM verifier, returns the secret once. */
import type { AirlockConfig } from '../config/config-types.js';
import type { Store } from '../store/store.js';
import { createScramVerifier } from '../wire/postgres/scram.js';
import { generateSecret, generateTokenId } from './token-format.js';
import { CONTROL_CHARS, MAX_TOKEN_TEXT_LENGTH } from './token-text.js';

/** A freshly issued token including its secret (never stored; shown to the requester once). */
export interface IssuedToken {
  readonly tokenId: string;
  readonly secret: string;
  readonly role: string;
  readonly upstream: string;
  readonly subject: string;
  readonly reason: string;
  readonly runId: string | null;
  /** Epoch milliseconds. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** What a caller asks for; `ttlMs` defaults to config.tokens.defaultTtlMs. */
export interface TokenRequest {
  readonly role: string;
  readonly subject: string;
  readonly reason: string;
  readonly ttlMs?: number;
  readonly runId?: string | null;
}

/** Collaborators of issueToken, passed in by the caller (never built here). */
export interface IssueTokenDeps {
  readonly store: Store;
  readonly config: AirlockConfig;
  readonly now: () => number;
}

/** The request cannot be honoured as asked; the message says what to change. */
export class TokenRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

/** Validates the request, stores the token (verifier only, never the secret) and returns it with its secret. */
export async function issueToken(deps: IssueTokenDeps, request: TokenRequest): Promise<IssuedToken> {
  const { config } = deps;
  const role = Object.hasOwn(config.roles, request.role) ? config.roles[request.role] : undefined;
  if (role === undefined) {
    const defined = Object.keys(config.roles).sort();
    const list =
      defined.length > 0 ? `defined roles: ${defined.join(', ')}` : 'no roles are defined in the config';
    throw new TokenRequestError(`unknown role "${request.role}"; ${list}`);
  }
  const ttlMs = request.ttlMs ?? config.tokens.defaultTtlMs;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new TokenRequestError(`ttl must be a positive whole number of milliseconds, got ${ttlMs}`);
  }
  if (ttlMs > config.tokens.maxTtlMs) {
    throw new TokenRequestError(
      `ttl ${formatMs(ttlMs)} exceeds the maximum of ${formatMs(config.tokens.maxTtlMs)} (tokens.max_ttl in the config)`,
    );
  }
  const subject = checkText('subject', request.subject);
  const reason = checkText('reason', request.reason);
  const runId =
    request.runId === undefined || request.runId === null ? null : checkText('runId', request.runId);

  const secret = generateSecret();
  const issuedAt = deps.now();
  const issued: IssuedToken = {
    tokenId: generateTokenId(),
    secret,
    role: role.name,
    upstream: role.upstream,
    subject,
    reason,
    runId,
    issuedAt,
    expiresAt: issuedAt + ttlMs,
  };
  const { secret: _secret, ...stored } = issued;
  await deps.store.insertToken({
    ...stored,
    revokedAt: null,
    verifier: createScramVerifier(secret, { iterations: config.auth.scramIterations }),
  });
  return issued;
}

function checkText(field: string, value: string): string {
  if (value.trim() === '') throw new TokenRequestError(`${field} must not be empty`);
  if (value.length > MAX_TOKEN_TEXT_LENGTH) {
    throw new TokenRequestError(
      `${field} is ${value.length} characters; the limit is ${MAX_TOKEN_TEXT_LENGTH}`,
    );
  }
  if (CONTROL_CHARS.test(value)) {
    throw new TokenRequestError(`${field} must not contain control characters (newlines, tabs, escapes)`);
  }
  return value;
}

/** Renders milliseconds in the largest whole unit the config syntax accepts (e.g. 24h, 90s). */
function formatMs(ms: number): string {
  const units: readonly [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  for (const [unit, size] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
