/** `GET /v1/audit/events`: audit search for configured auditors (bearer key), paged with an opaque cursor. */
import { Hono } from 'hono';
import type { ChainedAuditEvent } from '../audit/audit-event.js';
import {
  AUDIT_SEARCH_FIELDS,
  AuditSearchError,
  type AuditSearchInput,
  type AuditSearchPage,
  type AuditSearchQuery,
  encodeAuditCursor,
  isAuditSearchField,
  parseAuditSearch,
} from '../audit/audit-search.js';
import type { AuditorConfig } from '../config/config-types.js';
import type { Logger } from '../observability/logger.js';
import { requireBearerKey } from './bearer-key-middleware.js';

/** What the audit routes need: the search itself and who may use it. */
export interface AuditApiDeps {
  readonly searchAudit: (query: AuditSearchQuery) => Promise<AuditSearchPage<ChainedAuditEvent>>;
  /** Empty: every audit route answers 404 (the audit API is off). */
  readonly auditors: Readonly<Record<string, AuditorConfig>>;
  readonly logger?: Logger;
}

// Audit events name people, sessions and SQL: no cache on the way may keep a copy.
const NO_STORE = { 'cache-control': 'no-store' };

/** The routes under /v1/audit. */
export function createAuditRoutes(deps: AuditApiDeps) {
  const app = new Hono<{ Variables: { auditor: string } }>();
  app.use(
    '*',
    requireBearerKey({
      holders: deps.auditors,
      realm: 'airlock-audit',
      holderKind: 'auditor',
      offError: 'the audit API is off: no auditors are configured (see docs/configuration.md, auditors)',
      logLabel: 'audit api',
      variable: 'auditor',
      ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    }),
  );

  app.get('/events', async (c) => {
    const auditor = c.get('auditor');
    const params = c.req.queries();
    const unknown = Object.keys(params).filter((name) => !isAuditSearchField(name));
    if (unknown.length > 0) {
      return c.json(
        {
          error: `unknown parameter ${JSON.stringify(unknown[0])}; known: ${AUDIT_SEARCH_FIELDS.join(', ')}`,
          parameter: unknown[0],
        },
        400,
        NO_STORE,
      );
    }
    let query: AuditSearchQuery;
    try {
      query = parseAuditSearch(params as AuditSearchInput);
    } catch (error) {
      if (!(error instanceof AuditSearchError)) throw error;
      return c.json({ error: error.message, parameter: error.field }, 400, NO_STORE);
    }
    const page = await deps.searchAudit(query);
    deps.logger?.info(
      { auditor, parameters: Object.keys(params), events: page.events.length },
      'audit api: search',
    );
    return c.json(
      {
        events: page.events,
        nextCursor: page.nextCursor === null ? null : encodeAuditCursor(page.nextCursor),
      },
      200,
      NO_STORE,
    );
  });

  app.onError((error, c) => {
    deps.logger?.error({ err: String(error) }, 'audit api: search failed');
    return c.json({ error: 'audit search failed; see the gateway log' }, 500, NO_STORE);
  });
  return app;
}
