/**
 * Adds masking to a guard: for a role with `mask` rules, every allowed batch first has the catalog
 * entries its statements need (read through the upstream's catalog connection when missing or old),
 * then is checked against the role's predicate and lineage settings, and the session carries the
 * result masking the relay applies. Roles without rules get the inner guard's session unchanged.
 * Fails closed: a catalog that cannot be read refuses the statement.
 */
import type { AirlockConfig, UpstreamConfig } from '../../config/config-types.js';
import { CatalogCache, type CatalogEntry } from '../../masking/catalog-cache.js';
import type { MaskPolicy } from '../../masking/mask-policy.js';
import { type MaskingRefusal, SessionMasking } from '../../masking/session-masking.js';
import type { QualifiedName } from '../../policy/policy-types.js';
import type {
  BatchContext,
  Guard,
  GuardBatch,
  GuardVerdict,
  RunningVerdict,
  SessionGuard,
  SessionIdentity,
  StatementDecision,
} from '../guard.js';
import { thenVerdict } from '../guard.js';
import { CatalogReader } from './catalog-reader.js';

/** SQLSTATE when the catalog needed to mask a statement's results cannot be read (system_error). */
export const MASKING_CATALOG_UNAVAILABLE_SQLSTATE = '58000';
/** Rounds of fetching (views reveal the relations under them) before giving up. */
const MAX_FETCH_ROUNDS = 16;

/** Reads catalog entries of one upstream (CatalogReader; tests pass their own). */
export interface CatalogSource {
  fetch(names: readonly QualifiedName[]): Promise<CatalogEntry[]>;
  close(): void;
}

/** The catalog of one upstream: what is known, and how to read more. */
interface UpstreamCatalog {
  readonly cache: CatalogCache;
  readonly reader: CatalogSource;
}

export interface MaskingGuard extends Guard {
  /** Closes the catalog connections. */
  close(): void;
}

export function maskingGuard(
  inner: Guard,
  config: AirlockConfig,
  openCatalog: (upstream: UpstreamConfig) => CatalogSource = (upstream) =>
    new CatalogReader(upstream, upstream.connectTimeoutMs),
): MaskingGuard {
  const catalogs = new Map<string, UpstreamCatalog>();
  const catalogOf = (upstreamName: string): UpstreamCatalog => {
    let catalog = catalogs.get(upstreamName);
    if (catalog === undefined) {
      const upstream = config.upstreams[upstreamName];
      if (upstream === undefined) throw new Error(`upstream ${upstreamName} is not configured`);
      catalog = {
        cache: new CatalogCache(config.masking.catalogRefreshMs),
        reader: openCatalog(upstream),
      };
      catalogs.set(upstreamName, catalog);
    }
    return catalog;
  };
  return {
    openSession(identity: SessionIdentity): SessionGuard {
      const session = inner.openSession(identity);
      const role = config.roles[identity.role];
      const policy = role?.masking ?? null;
      if (role === undefined || policy === null) return session;
      // The session's search_path as the policy pins it upstream: the role's schemas, then pg_temp.
      const searchPath = [...role.policy.searchPath, 'pg_temp'];
      return new MaskingSessionGuard(session, policy, catalogOf(role.upstream), searchPath);
    },
    close(): void {
      for (const catalog of catalogs.values()) catalog.reader.close();
    },
  };
}

class MaskingSessionGuard implements SessionGuard {
  readonly upstreamParameters: Readonly<Record<string, string>>;
  readonly resultMasking: SessionMasking;

  constructor(
    private readonly inner: SessionGuard,
    policy: MaskPolicy,
    private readonly catalog: UpstreamCatalog,
    searchPath: readonly string[],
  ) {
    this.upstreamParameters = inner.upstreamParameters;
    this.resultMasking = new SessionMasking(policy, catalog.cache, searchPath);
  }

  checkBatch(batch: GuardBatch, context?: BatchContext): GuardVerdict | Promise<GuardVerdict> {
    return thenVerdict(this.inner.checkBatch(batch, context), (verdict) => this.afterInner(verdict, batch));
  }

  close(): void {
    this.inner.close();
  }

  private afterInner(verdict: GuardVerdict, batch: GuardBatch): GuardVerdict | Promise<GuardVerdict> {
    // Checked before a batch is held for approval too: a reviewer never approves what masking refuses.
    if (verdict.action === 'deny') return verdict;
    const texts = [
      ...new Set(batch.statements.map((statement) => statement.sql).filter((sql) => sql !== '')),
    ];
    const withDdl = changesCatalog(verdict.statements) ? this.clearingCatalogWhenFinished(verdict) : verdict;
    if (texts.every((sql) => this.resultMasking.relationsToFetch(sql).length === 0))
      return this.judged(withDdl, texts);
    return this.fetchThenJudge(withDdl, texts);
  }

  private async fetchThenJudge(verdict: RunningVerdict, texts: readonly string[]): Promise<GuardVerdict> {
    try {
      for (let round = 0; round < MAX_FETCH_ROUNDS; round++) {
        const wanted = texts.flatMap((sql) => this.resultMasking.relationsToFetch(sql));
        if (wanted.length === 0) break;
        this.catalog.cache.store(wanted, await this.catalog.reader.fetch(wanted));
      }
    } catch {
      return refuse(
        verdict,
        {
          message:
            "the gateway could not read the database catalog it needs to mask this statement's results, so the statement was not run",
          hint: 'retry in a moment; if it persists, the operator should check the gateway log and the upstream',
        },
        MASKING_CATALOG_UNAVAILABLE_SQLSTATE,
      );
    }
    return this.judged(verdict, texts);
  }

  private judged(verdict: RunningVerdict, texts: readonly string[]): GuardVerdict {
    for (const sql of texts) {
      const refusal = this.resultMasking.check(sql);
      if (refusal !== undefined) return refuse(this.withRecordedParams(verdict), refusal);
    }
    return this.withRecordedParams(verdict);
  }

  /** Bound values bound to masked columns, or holding personal data, are recorded masked. */
  private withRecordedParams<V extends RunningVerdict>(verdict: V): V {
    const statements = verdict.statements;
    if (statements === undefined || !statements.some((statement) => statement.params !== undefined))
      return verdict;
    return {
      ...verdict,
      statements: statements.map((statement) =>
        statement.params === undefined
          ? statement
          : { ...statement, params: this.resultMasking.recordedParams(statement.sql, statement.params) },
      ),
    };
  }

  /** DDL changes what names and columns mean: forget the catalog now and once the batch has run. */
  private clearingCatalogWhenFinished(verdict: RunningVerdict): RunningVerdict {
    const cache = this.catalog.cache;
    cache.clear();
    const finished = verdict.finished;
    return {
      ...verdict,
      finished: (result) => {
        cache.clear();
        finished?.(result);
      },
    };
  }
}

function changesCatalog(statements: readonly StatementDecision[] | undefined): boolean {
  return (
    statements?.some((statement) => statement.accesses.some((access) => access.operation === 'ddl')) === true
  );
}

function refuse(verdict: RunningVerdict, refusal: MaskingRefusal, sqlState?: string): GuardVerdict {
  return {
    action: 'deny',
    message: refusal.message,
    hint: refusal.hint,
    ...(sqlState === undefined ? {} : { sqlState }),
    ...(verdict.statements === undefined
      ? {}
      : {
          statements: verdict.statements.map((statement) => ({
            ...statement,
            decision: 'deny' as const,
            rules: ['mask'],
          })),
        }),
  };
}
