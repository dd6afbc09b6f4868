/** Store on an embedded SQLite file (better-sqlite3): the default for a single gateway and its CLI. */
import { type FileHandle, open as openFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { ApprovalRequest } from '../approvals/approval-types.js';
import type { ChainedAuditEvent } from '../audit/audit-event.js';
import type { AuditSearchPage, AuditSearchQuery } from '../audit/audit-search.js';
import { canonicalJson } from '../audit/canonical-json.js';
import type { AuditCheckpoint } from '../audit/checkpoint.js';
import { migrateApprovals, SqliteApprovals } from './sqlite-approvals.js';
import { type AuditSearchRow, buildAuditSearchQuery } from './sqlite-audit-search.js';
import type {
  ApprovalChange,
  AuditAppend,
  AuditHead,
  ListApprovalsQuery,
  ListTokensOptions,
  ReadAuditOptions,
  Store,
  TokenRecord,
} from './store.js';

type Db = Database.Database;

/** Schema changes in order; entry i moves the schema from version i to i + 1. Append only. */
const MIGRATIONS: readonly ((db: Db) => void)[] = [
  (db) => {
    db.exec(`
      CREATE TABLE tokens (
        token_id         TEXT PRIMARY KEY NOT NULL,
        role             TEXT NOT NULL,
        upstream         TEXT NOT NULL,
        subject          TEXT NOT NULL,
        reason           TEXT NOT NULL,
        run_id           TEXT,
        issued_at        INTEGER NOT NULL,
        expires_at       INTEGER NOT NULL,
        revoked_at       INTEGER,
        scram_iterations INTEGER NOT NULL,
        scram_salt       TEXT NOT NULL,
        scram_stored_key TEXT NOT NULL,
        scram_server_key TEXT NOT NULL
      ) STRICT;
      CREATE INDEX tokens_expires_at ON tokens (expires_at);
    `);
  },
  (db) => {
    // body is the canonical JSON of the whole record; the other columns are copies for lookups.
    db.exec(`
      CREATE TABLE audit_events (
        instance TEXT NOT NULL,
        seq      INTEGER NOT NULL,
        at_ms    INTEGER NOT NULL,
        hash     TEXT NOT NULL,
        body     TEXT NOT NULL,
        PRIMARY KEY (instance, seq)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX audit_events_at ON audit_events (at_ms);
      CREATE TABLE audit_checkpoints (
        instance TEXT NOT NULL,
        seq      INTEGER NOT NULL,
        body     TEXT NOT NULL,
        PRIMARY KEY (instance, seq)
      ) STRICT, WITHOUT ROWID;
    `);
  },
  (db) => {
    // Audit search: the usual starting points of an investigation (who, which CI run, which
    // session), each with time so a match comes out in order. An index on this WITHOUT ROWID
    // table also holds (instance, seq), the rest of the search order. Each costs about 2 µs per
    // inserted event (one JSON parse and one b-tree insert, measured on 750-byte statement
    // events), small beside hashing and fsync; the other filters scan the time range.
    db.exec(`
      CREATE INDEX audit_events_subject ON audit_events (json_extract(body, '$.who.subject'), at_ms);
      CREATE INDEX audit_events_run_id ON audit_events (json_extract(body, '$.why.runId'), at_ms);
      CREATE INDEX audit_events_session_id ON audit_events (json_extract(body, '$.where.sessionId'), at_ms);
    `);
  },
  migrateApprovals,
  (db) => {
    // CI ID tokens already exchanged (jti or hash), kept until they expire: a replay is refused.
    db.exec(`
      CREATE TABLE exchanged_id_tokens (
        key        TEXT PRIMARY KEY NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX exchanged_id_tokens_expires_at ON exchanged_id_tokens (expires_at);
      CREATE INDEX tokens_run_id ON tokens (run_id) WHERE run_id IS NOT NULL;
    `);
  },
];

interface TokenRow {
  token_id: string;
  role: string;
  upstream: string;
  subject: string;
  reason: string;
  run_id: string | null;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
  scram_iterations: number;
  scram_salt: string;
  scram_stored_key: string;
  scram_server_key: string;
}

/** A Store over one SQLite file (or ':memory:'); several processes may open the same file. */
export class SqliteStore implements Store {
  readonly #db: Db;
  readonly #path: string;
  /** The WAL file, opened on the first syncWal (it exists once something was committed). */
  #walFd: FileHandle | undefined;
  readonly #insert: Database.Statement<TokenRow>;
  readonly #get: Database.Statement<[string], TokenRow>;
  readonly #listLive: Database.Statement<[number], TokenRow>;
  readonly #listAll: Database.Statement<[], TokenRow>;
  readonly #revoke: Database.Statement<[number, string]>;
  readonly #exists: Database.Statement<[string], { one: number }>;
  readonly #revokedAmong: Database.Statement<[string], { token_id: string }>;
  readonly #auditHead: Database.Statement<[string], { seq: number; hash: string }>;
  readonly #auditCheckpointSeq: Database.Statement<[string], { seq: number | null }>;
  readonly #insertAuditEvent: Database.Statement<[string, number, number, string, string]>;
  readonly #insertAuditCheckpoint: Database.Statement<[string, number, string]>;
  readonly #approvals: SqliteApprovals;

  /**
   * `synchronous`: 'full' (default) fsyncs every commit before it returns, so an audit event
   * acknowledged to its caller survives a power loss; 'normal' (WAL) only writes it to the OS, which
   * survives a crash of the gateway but may lose the last commits on a power loss or kernel crash.
   */
  constructor(
    path: string,
    options: {
      readonly synchronous?: 'full' | 'normal';
      /** WAL pages after which a commit copies the WAL back into the database (SQLite default 1000). */
      readonly walAutocheckpointPages?: number;
    } = {},
  ) {
    this.#path = path;
    this.#db = new Database(path);
    // The CLI and a running gateway share the file: WAL lets readers run beside one writer,
    // and busy_timeout waits out the other process's write instead of failing at once.
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    if (options.walAutocheckpointPages !== undefined) {
      this.#db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.trunc(options.walAutocheckpointPages))}`);
    }
    migrate(this.#db);
    this.#approvals = new SqliteApprovals(this.#db);

    this.#insert = this.#db.prepare(`
      INSERT INTO tokens (token_id, role, upstream, subject, reason, run_id, issued_at, expires_at, revoked_at,
                          scram_iterations, scram_salt, scram_stored_key, scram_server_key)
      VALUES (@token_id, @role, @upstream, @subject, @reason, @run_id, @issued_at, @expires_at, @revoked_at,
              @scram_iterations, @scram_salt, @scram_stored_key, @scram_server_key)`);
    this.#get = this.#db.prepare('SELECT * FROM tokens WHERE token_id = ?');
    this.#listLive = this.#db.prepare(
      'SELECT * FROM tokens WHERE revoked_at IS NULL AND expires_at > ? ORDER BY issued_at, token_id',
    );
    this.#listAll = this.#db.prepare('SELECT * FROM tokens ORDER BY issued_at, token_id');
    this.#revoke = this.#db.prepare(
      'UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL',
    );
    this.#exists = this.#db.prepare('SELECT 1 AS one FROM tokens WHERE token_id = ?');
    // One parameter whatever the number of ids: the ids travel as a JSON array.
    this.#revokedAmong = this.#db.prepare(
      'SELECT token_id FROM tokens WHERE revoked_at IS NOT NULL AND token_id IN (SELECT value FROM json_each(?))',
    );
    this.#auditHead = this.#db.prepare(
      'SELECT seq, hash FROM audit_events WHERE instance = ? ORDER BY seq DESC LIMIT 1',
    );
    this.#auditCheckpointSeq = this.#db.prepare(
      'SELECT MAX(seq) AS seq FROM audit_checkpoints WHERE instance = ?',
    );
    this.#insertAuditEvent = this.#db.prepare(
      'INSERT INTO audit_events (instance, seq, at_ms, hash, body) VALUES (?, ?, ?, ?, ?)',
    );
    this.#insertAuditCheckpoint = this.#db.prepare(
      'INSERT INTO audit_checkpoints (instance, seq, body) VALUES (?, ?, ?)',
    );
  }

  async rememberIdToken(key: string, expiresAt: number, now: number): Promise<boolean> {
    const remember = this.#db.transaction((): boolean => {
      // Bounded work per call: old entries go a batch at a time.
      this.#db
        .prepare(
          'DELETE FROM exchanged_id_tokens WHERE key IN (SELECT key FROM exchanged_id_tokens WHERE expires_at <= ? LIMIT 100)',
        )
        .run(now);
      const inserted = this.#db
        .prepare('INSERT OR IGNORE INTO exchanged_id_tokens (key, expires_at) VALUES (?, ?)')
        .run(key, expiresAt);
      return inserted.changes === 1;
    });
    return remember.immediate();
  }

  async revokeRun(runId: string, at: number): Promise<string[]> {
    const rows = this.#db
      .prepare('UPDATE tokens SET revoked_at = ? WHERE run_id = ? AND revoked_at IS NULL RETURNING token_id')
      .all(at, runId) as { token_id: string }[];
    return rows.map((row) => row.token_id).sort();
  }

  async insertApproval(request: ApprovalRequest): Promise<void> {
    this.#approvals.insert(request);
  }

  async getApproval(id: string): Promise<ApprovalRequest | undefined> {
    return this.#approvals.get(id);
  }

  async getApprovals(ids: readonly string[]): Promise<ApprovalRequest[]> {
    return this.#approvals.getMany(ids);
  }

  async listApprovals(query: ListApprovalsQuery = {}): Promise<ApprovalRequest[]> {
    return this.#approvals.list(query);
  }

  async updateApproval<T>(
    id: string,
    change: (request: ApprovalRequest) => ApprovalChange<T>,
  ): Promise<T | undefined> {
    return this.#approvals.update(id, change);
  }

  async abandonPendingApprovals(instance: string, at: number, outcome: string): Promise<ApprovalRequest[]> {
    return this.#approvals.abandonPending(instance, at, outcome);
  }

  async findApprovedInRun(
    runId: string,
    role: string,
    scopeKey: string,
  ): Promise<ApprovalRequest | undefined> {
    return this.#approvals.findApprovedInRun(runId, role, scopeKey);
  }

  async insertToken(record: TokenRecord): Promise<void> {
    this.#insert.run(toRow(record));
  }

  async getToken(tokenId: string): Promise<TokenRecord | undefined> {
    const row = this.#get.get(tokenId);
    return row === undefined ? undefined : fromRow(row);
  }

  async listTokens(options?: ListTokensOptions): Promise<TokenRecord[]> {
    const rows = options?.includeInactive
      ? this.#listAll.all()
      : this.#listLive.all(options?.now ?? Date.now());
    return rows.map(fromRow);
  }

  async revokeToken(tokenId: string, at: number): Promise<boolean> {
    if (this.#revoke.run(at, tokenId).changes > 0) return true;
    return this.#exists.get(tokenId) !== undefined;
  }

  async revokedAmong(tokenIds: readonly string[]): Promise<Set<string>> {
    if (tokenIds.length === 0) return new Set();
    const rows = this.#revokedAmong.all(JSON.stringify(tokenIds));
    return new Set(rows.map((row) => row.token_id));
  }

  async appendAudit(instance: string, build: (head: AuditHead) => AuditAppend): Promise<AuditAppend> {
    const append = this.#db.transaction((): AuditAppend => {
      const row = this.#auditHead.get(instance);
      const checkpointSeq = this.#auditCheckpointSeq.get(instance)?.seq ?? 0;
      const head: AuditHead =
        row === undefined
          ? { seq: 0, hash: null, checkpointSeq }
          : { seq: row.seq, hash: row.hash, checkpointSeq };
      const built = build(head);
      let expected = head.seq + 1;
      for (const event of built.events) {
        // The primary key stops a duplicate; this also stops a gap or a foreign instance.
        if (event.instance !== instance || event.seq !== expected) {
          throw new Error(
            `audit append: expected seq ${expected} of "${instance}", got seq ${event.seq} of "${event.instance}"`,
          );
        }
        const atMs = Date.parse(event.at);
        if (Number.isNaN(atMs)) throw new Error(`audit append: seq ${event.seq} has no valid "at"`);
        const body = 'json' in event ? event.json : canonicalJson(event);
        this.#insertAuditEvent.run(instance, event.seq, atMs, event.hash, body);
        expected++;
      }
      const checkpoint = built.checkpoint;
      if (checkpoint !== undefined) {
        if (checkpoint.instance !== instance || checkpoint.seq >= expected || checkpoint.seq < 1) {
          throw new Error(
            `audit append: checkpoint at seq ${checkpoint.seq} is past the head of "${instance}"`,
          );
        }
        this.#insertAuditCheckpoint.run(instance, checkpoint.seq, canonicalJson(checkpoint));
      }
      return built;
    });
    // IMMEDIATE takes the write lock before the head is read: two writers cannot both extend it.
    return append.immediate();
  }

  async readAudit(
    options: ReadAuditOptions = {},
  ): Promise<{ events: ChainedAuditEvent[]; checkpoints: AuditCheckpoint[] }> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (options.instance !== undefined) {
      where.push('instance = ?');
      params.push(options.instance);
    }
    const checkpointWhere = [...where];
    const checkpointParams = [...params];
    if (options.fromSeq !== undefined) {
      where.push('seq >= ?');
      params.push(options.fromSeq);
    }
    if (options.since !== undefined) {
      const sinceMs = Date.parse(options.since);
      if (Number.isNaN(sinceMs)) throw new TypeError(`readAudit: since is not a date: ${options.since}`);
      where.push('at_ms >= ?');
      params.push(sinceMs);
    }
    if (options.checkpointsFromSeq !== undefined) {
      checkpointWhere.push('seq >= ?');
      checkpointParams.push(options.checkpointsFromSeq);
    }
    let limit = '';
    if (options.limit !== undefined) {
      if (!Number.isSafeInteger(options.limit) || options.limit < 1) {
        throw new TypeError(`readAudit: limit must be an integer >= 1, got ${String(options.limit)}`);
      }
      limit = ` LIMIT ${options.limit}`;
    }
    const clause = (parts: string[]) => (parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`);
    // One read transaction, so the events and checkpoints come from the same moment.
    return this.#db.transaction(() => {
      const events = this.#db
        .prepare(`SELECT body FROM audit_events ${clause(where)} ORDER BY instance, seq${limit}`)
        .all(...params) as { body: string }[];
      const checkpoints = this.#db
        .prepare(`SELECT body FROM audit_checkpoints ${clause(checkpointWhere)} ORDER BY instance, seq`)
        .all(...checkpointParams) as { body: string }[];
      return {
        events: events.map((row) => JSON.parse(row.body) as ChainedAuditEvent),
        checkpoints: checkpoints.map((row) => JSON.parse(row.body) as AuditCheckpoint),
      };
    })();
  }

  async searchAudit(query: AuditSearchQuery): Promise<AuditSearchPage<ChainedAuditEvent>> {
    const { sql, params } = buildAuditSearchQuery(query);
    const rows = this.#db.prepare(sql).all(...params) as AuditSearchRow[];
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      events: page.map((row) => JSON.parse(row.body) as ChainedAuditEvent),
      nextCursor:
        rows.length > query.limit && last !== undefined
          ? { atMs: last.at_ms, instance: last.instance, seq: last.seq }
          : null,
    };
  }

  /**
   * Makes every commit so far durable without blocking the event loop: fdatasync of the WAL file on
   * libuv's thread pool. Under synchronous = NORMAL a commit writes its WAL frames to the OS and
   * returns; this is the fsync that synchronous = FULL would have done inside the commit, for every
   * commit made before it (group commit). An in-memory database has nothing to sync.
   */
  async syncWal(): Promise<void> {
    if (this.#path === ':memory:') return;
    // SQLite removes the WAL file only when the last connection closes, and this one is open.
    this.#walFd ??= await openFile(`${this.#path}-wal`, 'r');
    await this.#walFd.datasync();
  }

  async close(): Promise<void> {
    await this.#walFd?.close();
    this.#walFd = undefined;
    if (this.#db.open) this.#db.close();
  }
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  // IMMEDIATE takes the write lock before reading the version, so two processes opening a new
  // file at once cannot both apply the same migration.
  db.transaction(() => {
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `store schema version ${current} is newer than this airlock understands (${MIGRATIONS.length}); upgrade airlock`,
      );
    }
    for (const step of MIGRATIONS.slice(current)) step(db);
    if (row === undefined)
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(MIGRATIONS.length);
    else db.prepare('UPDATE schema_version SET version = ?').run(MIGRATIONS.length);
  }).immediate();
}

function toRow(record: TokenRecord): TokenRow {
  return {
    token_id: record.tokenId,
    role: record.role,
    upstream: record.upstream,
    subject: record.subject,
    reason: record.reason,
    run_id: record.runId,
    issued_at: record.issuedAt,
    expires_at: record.expiresAt,
    revoked_at: record.revokedAt,
    scram_iterations: record.verifier.iterations,
    scram_salt: record.verifier.salt,
    scram_stored_key: record.verifier.storedKey,
    scram_server_key: record.verifier.serverKey,
  };
}

function fromRow(row: TokenRow): TokenRecord {
  return {
    tokenId: row.token_id,
    role: row.role,
    upstream: row.upstream,
    subject: row.subject,
    reason: row.reason,
    runId: row.run_id,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    verifier: {
      iterations: row.scram_iterations,
      salt: row.scram_salt,
      storedKey: row.scram_stored_key,
      serverKey: row.scram_server_key,
    },
  };
}
