/**
 * Reads relations, their columns and view definitions from an upstream's catalog over the gateway's
 * own connection (not an agent's session), for masking by column origin. One connection per upstream,
 * opened on first use, one query at a time, reopened after a failure; every wait is bounded.
 */
import type { UpstreamConfig } from '../../config/config-types.js';
import type { CatalogEntry } from '../../masking/catalog-cache.js';
import type { QualifiedName } from '../../policy/policy-types.js';
import { decodeErrorFields } from '../../wire/postgres/backend-decoders.js';
import { type Frame, MessageFramer } from '../../wire/postgres/message-framer.js';
import { encodeMessage } from '../../wire/postgres/message-writer.js';
import { Backend, Frontend } from '../../wire/postgres/protocol-constants.js';
import { decodeDataRow } from '../../wire/postgres/result-messages.js';
import { connectUpstream, type UpstreamSession } from './upstream-connection.js';

/** Names asked per query; more are split into several queries. */
const NAMES_PER_QUERY = 200;
/** Bound on the answer to one catalog query. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export class CatalogReadError extends Error {
  constructor(detail: string) {
    super(`catalog read failed: ${detail}`);
    this.name = 'CatalogReadError';
  }
}

export class CatalogReader {
  private session: Promise<UpstreamSession> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly upstream: UpstreamConfig,
    private readonly timeoutMs: number,
  ) {}

  /** The relations among `names` that exist, with their live columns (and view queries). */
  fetch(names: readonly QualifiedName[]): Promise<CatalogEntry[]> {
    const run = this.queue.then(async () => {
      const entries: CatalogEntry[] = [];
      for (let i = 0; i < names.length; i += NAMES_PER_QUERY) {
        entries.push(...(await this.fetchSome(names.slice(i, i + NAMES_PER_QUERY))));
      }
      return entries;
    });
    this.queue = run.catch(() => {});
    return run;
  }

  close(): void {
    this.closed = true;
    void this.session?.then(
      (session) => session.socket.destroy(),
      () => {},
    );
    this.session = undefined;
  }

  private async fetchSome(names: readonly QualifiedName[]): Promise<CatalogEntry[]> {
    if (names.length === 0) return [];
    const rows = await this.query(relationsQuery(names));
    return entriesFromRows(rows);
  }

  private async query(sql: string): Promise<(string | null)[][]> {
    if (this.closed) throw new CatalogReadError('the gateway is shutting down');
    const session = await this.connect();
    try {
      return await runQuery(session, sql, this.timeoutMs);
    } catch (error) {
      // A connection in an unknown state is not reused.
      session.socket.destroy();
      this.session = undefined;
      throw error;
    }
  }

  private connect(): Promise<UpstreamSession> {
    if (this.session !== undefined) return this.session;
    const opening = (async () => {
      const signal = AbortSignal.timeout(this.timeoutMs);
      const session = await connectUpstream(this.upstream, { application_name: 'airlock:catalog' }, signal);
      session.socket.on('error', () => {});
      session.socket.on('close', () => {
        if (this.session === opening) this.session = undefined;
      });
      return session;
    })();
    this.session = opening;
    opening.catch(() => {
      if (this.session === opening) this.session = undefined;
    });
    return opening;
  }
}

/** One row per live column of each named relation that exists (relations without columns: one row). */
function relationsQuery(names: readonly QualifiedName[]): string {
  const values = names.map((name) => `(${literal(name.schema)}, ${literal(name.name)})`).join(', ');
  // Only pg_catalog on the path, for this transaction: view definitions come back with every other name
  // qualified, and the connection's own settings stay as they were (an embedded upstream may share them).
  return `BEGIN READ ONLY; SET LOCAL search_path = pg_catalog;
SELECT c.oid, n.nspname, c.relname, c.relkind, a.attnum, a.attname,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE (n.nspname, c.relname) IN (VALUES ${values})
ORDER BY c.oid, a.attnum;
COMMIT`;
}

/** A string literal that reads the same whatever standard_conforming_strings is. */
function literal(text: string): string {
  if (text.includes('\0')) throw new CatalogReadError('a name contains a NUL character');
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

function entriesFromRows(rows: readonly (string | null)[][]): CatalogEntry[] {
  const byOid = new Map<
    number,
    { schema: string; name: string; relkind: string; view: string | undefined; attnames: Map<number, string> }
  >();
  for (const [oid, schema, name, relkind, attnum, attname, view] of rows) {
    if (oid == null || schema == null || name == null || relkind == null) {
      throw new CatalogReadError('unexpected NULL in the catalog answer');
    }
    let relation = byOid.get(Number(oid));
    if (relation === undefined) {
      relation = { schema, name, relkind, view: view ?? undefined, attnames: new Map() };
      byOid.set(Number(oid), relation);
    }
    if (attnum != null && attname != null) relation.attnames.set(Number(attnum), attname);
  }
  return [...byOid].map(([oid, relation]) => ({
    oid,
    attnames: relation.attnames,
    relation: {
      schema: relation.schema,
      name: relation.name,
      kind:
        relation.relkind === 'v' || relation.relkind === 'm'
          ? 'view'
          : 'rfp'.includes(relation.relkind)
            ? 'table'
            : 'other',
      columns: [...relation.attnames.entries()].sort((a, b) => a[0] - b[0]).map(([, attname]) => attname),
      ...(relation.view === undefined ? {} : { viewQuery: relation.view }),
    },
  }));
}

/** Runs one simple Query; resolves with its rows as text, rejects on an error, a close or the timeout. */
function runQuery(session: UpstreamSession, sql: string, timeoutMs: number): Promise<(string | null)[][]> {
  return new Promise((resolve, reject) => {
    const { socket } = session;
    const framer = new MessageFramer(MAX_ANSWER_BYTES);
    const rows: (string | null)[][] = [];
    let failure: string | undefined;
    const finish = (error: Error | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (error === undefined) resolve(rows);
      else reject(error);
    };
    const onFrame = (frame: Frame): boolean => {
      if (frame.type === Backend.DataRow) {
        rows.push(decodeDataRow(frame.body).map((value) => (value === null ? null : value.toString('utf8'))));
      } else if (frame.type === Backend.ErrorResponse) {
        const fields = decodeErrorFields(frame.body);
        failure = `${fields.get('C') ?? '?'} ${fields.get('M') ?? ''}`;
      } else if (frame.type === Backend.ReadyForQuery) {
        finish(failure === undefined ? undefined : new CatalogReadError(failure));
        return true;
      }
      return false;
    };
    const onData = (chunk: Buffer) => {
      try {
        for (const frame of framer.push(chunk)) if (onFrame(frame)) return;
      } catch (error) {
        finish(new CatalogReadError(String(error)));
      }
    };
    const onClose = () => finish(new CatalogReadError('the catalog connection closed'));
    const timer = setTimeout(
      () => finish(new CatalogReadError(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(encodeMessage(Frontend.Query, Buffer.from(`${sql}\0`, 'utf8')));
  });
}
