/** Admits only configured key holders (auditors, reviewers) to a route group; 404 when none is configured. */
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../observability/logger.js';
import { authenticateKeyHolder, type KeyHolder } from './auditor-auth.js';

export interface BearerKeyOptions<V extends string> {
  /** Who may pass; empty: every route of the group answers 404 with `offError`. */
  readonly holders: Readonly<Record<string, KeyHolder>>;
  /** The `Bearer realm="…"` challenge of 401 answers. */
  readonly realm: string;
  /** What the holders are called in errors: `auditor`, `reviewer`. */
  readonly holderKind: string;
  readonly offError: string;
  /** Prefix of the log line of a refusal, e.g. `audit api`. */
  readonly logLabel: string;
  /** The context variable the holder's name is set in. */
  readonly variable: V;
  readonly logger?: Logger;
}

/** The middleware: 404 when off, 401 (with `WWW-Authenticate`) without a holder's key, else the holder's name in `variable`. */
export function requireBearerKey<V extends string>(
  options: BearerKeyOptions<V>,
): MiddlewareHandler<{ Variables: Record<V, string> }> {
  const enabled = Object.keys(options.holders).length > 0;
  const challenge = `Bearer realm="${options.realm}"`;
  return async (c, next) => {
    if (!enabled) return c.json({ error: options.offError }, 404);
    const auth = authenticateKeyHolder(c.req.header('authorization'), options.holders);
    if (!auth.ok) {
      options.logger?.warn(
        { problem: auth.problem, path: c.req.path },
        `${options.logLabel}: authentication refused`,
      );
      return c.json(
        auth.problem === 'missing'
          ? { error: `${options.holderKind} key required: send Authorization: Bearer <key>` }
          : { error: `invalid ${options.holderKind} key` },
        401,
        {
          'www-authenticate': auth.problem === 'missing' ? challenge : `${challenge}, error="invalid_token"`,
        },
      );
    }
    c.set(options.variable, auth.name);
    await next();
  };
}
