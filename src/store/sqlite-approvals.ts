/** Approval requests and reviewers' decisions in the SQLite store (tables from migration 4). */
import type Database from 'better-sqlite3';
import type {
  ApprovalDecision,
  ApprovalRequest,
  ApprovalStatus,
  HeldStatement,
} from '../approvals/approval-types.js';
import type { ApprovalChange, ListApprovalsQuery } from './store.js';

type Db = Database.Database;

/** Creates the approval tables; `request` holds the JSON of the fields that never change. */
export function migrateApprovals(db: Db): void {
  db.exec(`
    CREATE TABLE approvals (
      id          TEXT PRIMARY KEY NOT NULL,
      instance    TEXT NOT NULL,
      status      TEXT NOT NULL,
      run_id      TEXT,
      role        TEXT NOT NULL,
      scope_key   TEXT,
      created_at  INTEGER NOT NULL,
      expires_at  INTEGER NOT NULL,
      decided_at  INTEGER,
      outcome     TEXT,
      request     TEXT NOT NULL
    ) STRICT;
    CREATE INDEX approvals_status ON approvals (status, created_at);
    CREATE INDEX approvals_run_scope ON approvals (run_id, role, scope_key) WHERE scope_key IS NOT NULL;
    CREATE TABLE approval_decisions (
      approval_id TEXT NOT NULL REFERENCES approvals (id),
      reviewer    TEXT NOT NULL,
      verdict     TEXT NOT NULL,
      reason      TEXT NOT NULL,
      at          INTEGER NOT NULL,
      PRIMARY KEY (approval_id, reviewer)
    ) STRICT, WITHOUT ROWID;
  `);
}

interface ApprovalRow {
  id: string;
  status: string;
  decided_at: number | null;
  outcome: string | null;
  request: string;
}

interface DecisionRow {
  reviewer: string;
  verdict: string;
  reason: string;
  at: number;
}

/** The immutable part of a request, as stored in `request`. */
type StoredRequest = Omit<ApprovalRequest, 'status' | 'decidedAt' | 'outcome' | 'decisions'>;

const LIST_LIMIT_DEFAULT = 100;
const LIST_LIMIT_MAX = 1000;

/** Reads and writes approvals on one better-sqlite3 connection; every write is one immediate transaction. */
export class SqliteApprovals {
  readonly #db: Db;
  readonly #get: Database.Statement;
  readonly #decisions: Database.Statement;

  constructor(db: Db) {
    this.#db = db;
    this.#get = db.prepare('SELECT id, status, decided_at, outcome, request FROM approvals WHERE id = ?');
    this.#decisions = db.prepare(
      'SELECT reviewer, verdict, reason, at FROM approval_decisions WHERE approval_id = ? ORDER BY at, reviewer',
    );
  }

  insert(request: ApprovalRequest): void {
    const stored: StoredRequest = {
      id: request.id,
      instance: request.instance,
      sessionId: request.sessionId,
      tokenId: request.tokenId,
      role: request.role,
      upstream: request.upstream,
      subject: request.subject,
      reason: request.reason,
      runId: request.runId,
      statements: request.statements,
      rule: request.rule,
      why: request.why,
      approversRequired: request.approversRequired,
      scope: request.scope,
      scopeKey: request.scopeKey,
      createdAt: request.createdAt,
      expiresAt: request.expiresAt,
      blastRadius: request.blastRadius,
    };
    this.#db
      .prepare(
        `INSERT INTO approvals (id, instance, status, run_id, role, scope_key, created_at, expires_at, decided_at, outcome, request)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        request.id,
        request.instance,
        request.status,
        request.runId,
        request.role,
        request.scopeKey,
        request.createdAt,
        request.expiresAt,
        request.decidedAt,
        request.outcome,
        JSON.stringify(stored),
      );
  }

  get(id: string): ApprovalRequest | undefined {
    const row = this.#get.get(id) as ApprovalRow | undefined;
    return row === undefined ? undefined : this.#fromRow(row);
  }

  getMany(ids: readonly string[]): ApprovalRequest[] {
    const rows = this.#db
      .prepare(
        'SELECT id, status, decided_at, outcome, request FROM approvals WHERE id IN (SELECT value FROM json_each(?))',
      )
      .all(JSON.stringify(ids)) as ApprovalRow[];
    return rows.map((row) => this.#fromRow(row));
  }

  list(query: ListApprovalsQuery): ApprovalRequest[] {
    const limit = Math.min(Math.max(1, query.limit ?? LIST_LIMIT_DEFAULT), LIST_LIMIT_MAX);
    const where = query.status === undefined ? '' : 'WHERE status = ?';
    const params: unknown[] = query.status === undefined ? [] : [query.status];
    const rows = this.#db
      .prepare(
        `SELECT id, status, decided_at, outcome, request FROM approvals ${where} ORDER BY created_at DESC, id LIMIT ?`,
      )
      .all(...params, limit) as ApprovalRow[];
    return rows.map((row) => this.#fromRow(row));
  }

  /** Reads the request and applies `change` to it in one write transaction (safe across processes). */
  update<T>(id: string, change: (request: ApprovalRequest) => ApprovalChange<T>): T | undefined {
    const run = this.#db.transaction((): T | undefined => {
      const current = this.get(id);
      if (current === undefined) return undefined;
      const { result, decision, finish } = change(current);
      if (decision !== undefined) {
        this.#db
          .prepare(
            'INSERT INTO approval_decisions (approval_id, reviewer, verdict, reason, at) VALUES (?, ?, ?, ?, ?)',
          )
          .run(id, decision.reviewer, decision.verdict, decision.reason, decision.at);
      }
      if (finish !== undefined) {
        this.#db
          .prepare(
            "UPDATE approvals SET status = ?, decided_at = ?, outcome = ? WHERE id = ? AND status = 'pending'",
          )
          .run(finish.status, finish.at, finish.outcome, id);
      }
      return result;
    });
    return run.immediate();
  }

  /** Pending requests of `instance` (whose sessions died with the gateway): marked abandoned, returned. */
  abandonPending(instance: string, at: number, outcome: string): ApprovalRequest[] {
    const run = this.#db.transaction((): ApprovalRequest[] => {
      const ids = (
        this.#db
          .prepare("SELECT id FROM approvals WHERE instance = ? AND status = 'pending'")
          .all(instance) as { id: string }[]
      ).map((row) => row.id);
      this.#db
        .prepare(
          "UPDATE approvals SET status = 'abandoned', decided_at = ?, outcome = ? WHERE instance = ? AND status = 'pending'",
        )
        .run(at, outcome, instance);
      return this.getMany(ids);
    });
    return run.immediate();
  }

  /** An approved run-scoped request covering the same statements for the same role and CI run, if any. */
  findApprovedInRun(runId: string, role: string, scopeKey: string): ApprovalRequest | undefined {
    const row = this.#db
      .prepare(
        `SELECT id, status, decided_at, outcome, request FROM approvals
         WHERE run_id = ? AND role = ? AND scope_key = ? AND status = 'approved' ORDER BY created_at LIMIT 1`,
      )
      .get(runId, role, scopeKey) as ApprovalRow | undefined;
    return row === undefined ? undefined : this.#fromRow(row);
  }

  #fromRow(row: ApprovalRow): ApprovalRequest {
    const stored = JSON.parse(row.request) as StoredRequest;
    const decisions = (this.#decisions.all(row.id) as DecisionRow[]).map(
      (d): ApprovalDecision => ({
        reviewer: d.reviewer,
        verdict: d.verdict === 'deny' ? 'deny' : 'approve',
        reason: d.reason,
        at: d.at,
      }),
    );
    return {
      ...stored,
      statements: stored.statements.map((s: HeldStatement) => ({ ...s })),
      status: row.status as ApprovalStatus,
      decidedAt: row.decided_at,
      outcome: row.outcome,
      decisions,
    };
  }
}
