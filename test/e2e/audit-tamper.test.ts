/**
 * Tampering with the real audit store file: a 43-event trail written by AuditLog into SQLite
 * (checkpoints signed at 10, 20, 30, 40; events 41..43 not yet signed) is copied once per case,
 * changed with SQL the way an attacker with write access to the file would change it, and checked
 * by the real `airlock audit verify` child process, which must name the first broken seq and why.
 * No PostgreSQL needed.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventBody, ChainedAuditEvent, JsonValue } from '../../src/audit/audit-event.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { type AuditCheckpoint, generateAuditSigningKey, signCheckpoint } from '../../src/audit/checkpoint.js';
import { eventHash } from '../../src/audit/hash-chain.js';
import { auditPublicKeyPath, loadOrCreateAuditSigningKey } from '../../src/audit/signing-key.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { type CliResult, runAirlockCliAsync } from '../helpers/run-cli.js';

const INSTANCE = 'gw-tamper';
const CHECKPOINT_EVERY = 10;
const EVENTS = 43;
/** The statement.decided event the edits target: the UPDATE of the second session. */
const EDITED_SEQ = 15;

type Db = Database.Database;

let dir: string;
let keyPath: string;
let pristineDbPath: string;
let pristine: { events: ChainedAuditEvent[]; checkpoints: AuditCheckpoint[] };

/**
 * What a gateway records for one agent: a token, five sessions of three statements (decided, then
 * finished), and after the last checkpoint the end of the fifth session, a revocation and a refusal.
 */
function gatewayBodies(): Omit<AuditEventBody, 'at'>[] {
  const who = { tokenId: 'tok_7Qx2mV', subject: 'ci@acme.example', role: 'support' };
  const why = { reason: 'PR #42: refund stuck orders', runId: 'gh-run-9001' };
  const statements: { sql: string; params: string[]; operation: string; tag: string }[] = [
    {
      sql: 'select id, status, total from orders where customer_id = $1',
      params: ['77'],
      operation: 'select',
      tag: 'SELECT 3',
    },
    {
      sql: "select count(*) from refunds where status = 'pending'",
      params: [],
      operation: 'select',
      tag: 'SELECT 1',
    },
    {
      sql: 'update orders set status = $1 where id = $2',
      params: ['refunded', '1009'],
      operation: 'update',
      tag: 'UPDATE 1',
    },
  ];
  const bodies: Omit<AuditEventBody, 'at'>[] = [
    { kind: 'token.issued', who, why, what: { upstream: 'shop', ttlSeconds: 900 } },
  ];
  for (let session = 1; session <= 5; session++) {
    const where = {
      sessionId: `sess-${session}`,
      client: `10.0.0.${session}:5${session}432`,
      upstream: 'shop',
    };
    bodies.push({ kind: 'session.started', who, why, where, what: { tls: true, auth: 'scram-sha-256' } });
    statements.forEach((s, i) => {
      const decided: Record<string, JsonValue> = {
        statement: i + 1,
        sql: s.sql,
        via: s.params.length > 0 ? 'execute' : 'simple-query',
        decision: 'allow',
        rules: ['support-orders'],
        tables: [s.sql.includes('refunds') ? 'refunds' : 'orders'],
        accesses: [{ table: s.sql.includes('refunds') ? 'refunds' : 'orders', operation: s.operation }],
      };
      if (s.params.length > 0) decided.params = s.params;
      bodies.push({ kind: 'statement.decided', who, why, where, what: decided });
      const decidedSeq = bodies.length;
      const rows = Number(s.tag.split(' ')[1]);
      bodies.push({
        kind: 'statement.finished',
        who,
        why,
        where,
        what: {
          statement: i + 1,
          decidedSeq,
          outcome: 'ok',
          commandTags: [s.tag],
          rows,
          durationUs: 840 + i,
        },
      });
    });
    bodies.push({
      kind: 'session.ended',
      who,
      why,
      where,
      what: { reason: 'client-terminated', durationMs: 1200 },
    });
  }
  bodies.push({ kind: 'token.revoked', who, why, what: { upstream: 'shop' } });
  bodies.push({
    kind: 'connection.refused',
    where: { sessionId: 'sess-6', client: '10.0.0.6:56432' },
    what: { sqlState: '28P01', message: 'token tok_7Qx2mV was revoked' },
  });
  return bodies;
}

function configYaml(storeFile: string): string {
  return [
    'listen:',
    '  postgres: 127.0.0.1:6432',
    `store: sqlite:./${storeFile}`,
    'upstreams:',
    '  shop:',
    '    url: postgres://gw@127.0.0.1:5432/shop',
    '    tls: disable',
    'roles:',
    '  support:',
    '    upstream: shop',
    'audit:',
    `  instance: ${INSTANCE}`,
    '  signing_key: ./keys/audit.key',
    `  checkpoint_every: ${CHECKPOINT_EVERY}`,
    '',
  ].join('\n');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-audit-tamper-'));
  keyPath = join(dir, 'keys', 'audit.key');
  // The code path the CLI and the gateway use: a 0600 key file and its .pub next to it.
  const key = loadOrCreateAuditSigningKey(keyPath);
  pristineDbPath = join(dir, 'pristine.db');
  const store = new SqliteStore(pristineDbPath, { synchronous: 'normal' });
  let clock = Date.UTC(2025, 4, 6, 9, 0, 0);
  const log = new AuditLog({
    store,
    instance: INSTANCE,
    privateKeyPem: key.privateKeyPem,
    checkpointEvery: CHECKPOINT_EVERY,
    now: () => (clock += 250),
  });
  // One commit per event, so the checkpoints land exactly on the multiples of CHECKPOINT_EVERY.
  for (const body of gatewayBodies()) await log.record(body);
  pristine = await store.readAudit({ instance: INSTANCE });
  // Not log.close(): its flush would sign the tail, and the tail must stay unsigned.
  await store.close();
  expect(existsSync(`${pristineDbPath}-wal`)).toBe(false);
  expect(pristine.events.map((e) => e.seq)).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
  expect(pristine.checkpoints.map((c) => c.seq)).toEqual([10, 20, 30, 40]);
  expect(new Set(pristine.events.map((e) => e.kind)).size).toBe(7);
  expect(eventAt(EDITED_SEQ)).toMatchObject({
    kind: 'statement.decided',
    what: { sql: expect.stringMatching(/^update orders/) },
  });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A copy of the pristine store file changed by `tamper` (in one transaction); returns a config that reads it. */
function tamperedStore(name: string, tamper: (db: Db) => void): string {
  copyFileSync(pristineDbPath, join(dir, `${name}.db`));
  const db = new Database(join(dir, `${name}.db`));
  try {
    db.transaction(() => tamper(db))();
  } finally {
    db.close();
  }
  const configPath = join(dir, `${name}.yaml`);
  writeFileSync(configPath, configYaml(`${name}.db`));
  return configPath;
}

function verify(configPath: string, ...extra: string[]): Promise<CliResult> {
  return runAirlockCliAsync(['audit', 'verify', '--config', configPath, ...extra]);
}

/** A private copy of pristine event `seq`. */
function eventAt(seq: number): ChainedAuditEvent {
  const event = pristine.events[seq - 1];
  if (event?.seq !== seq) throw new Error(`no pristine event at seq ${seq}`);
  return structuredClone(event);
}

function checkpointAt(seq: number): AuditCheckpoint {
  const checkpoint = pristine.checkpoints.find((c) => c.seq === seq);
  if (checkpoint === undefined) throw new Error(`no pristine checkpoint at seq ${seq}`);
  return structuredClone(checkpoint);
}

/** The UPDATE the agent ran at EDITED_SEQ, rewritten into a harmless-looking SELECT. */
function editedStatement(): ChainedAuditEvent {
  const event = eventAt(EDITED_SEQ);
  const what = event.what as Record<string, JsonValue>;
  what.sql = 'select status from orders where id = $2';
  what.accesses = [{ table: 'orders', operation: 'select' }];
  return event;
}

function rehashed(event: ChainedAuditEvent): ChainedAuditEvent {
  return { ...event, hash: eventHash(event) };
}

/** Overwrites the row at the event's seq: body and hash column (stale after a naive edit, recomputed by a careful one). */
function overwriteEvent(db: Db, event: ChainedAuditEvent): void {
  const changed = db
    .prepare('UPDATE audit_events SET body = ?, hash = ? WHERE instance = ? AND seq = ?')
    .run(canonicalJson(event), event.hash, INSTANCE, event.seq).changes;
  expect(changed).toBe(1);
}

function insertEvent(db: Db, event: ChainedAuditEvent, seqColumn = event.seq): void {
  db.prepare('INSERT INTO audit_events (instance, seq, at_ms, hash, body) VALUES (?, ?, ?, ?, ?)').run(
    INSTANCE,
    seqColumn,
    Date.parse(event.at),
    event.hash,
    canonicalJson(event),
  );
}

function deleteEvents(db: Db, where: string): void {
  db.prepare(`DELETE FROM audit_events WHERE instance = ? AND ${where}`).run(INSTANCE);
}

/**
 * What an attacker who knows the hash algorithm but not the signing key does: replaces every event
 * from `fromSeq` on with `events`, renumbered from `fromSeq`, each linked to the one before and
 * re-hashed, so that no link or event hash gives the change away. Checkpoints are left as they are.
 */
function rewriteChainFrom(db: Db, fromSeq: number, events: readonly ChainedAuditEvent[]): void {
  let prevHash = eventAt(fromSeq - 1).hash;
  deleteEvents(db, `seq >= ${fromSeq}`);
  events.forEach((original, i) => {
    const event = rehashed({ ...original, seq: fromSeq + i, prevHash });
    insertEvent(db, event);
    prevHash = event.hash;
  });
}

/** Pristine events from `fromSeq` to the end. */
function eventsFrom(fromSeq: number): ChainedAuditEvent[] {
  return pristine.events.slice(fromSeq - 1).map((e) => structuredClone(e));
}

function overwriteCheckpoint(db: Db, checkpoint: AuditCheckpoint): void {
  const changed = db
    .prepare('UPDATE audit_checkpoints SET body = ? WHERE instance = ? AND seq = ?')
    .run(canonicalJson(checkpoint), INSTANCE, checkpoint.seq).changes;
  expect(changed).toBe(1);
}

/** Exit 1 naming `seq` and `problem`, and how much was intact before it. */
function expectBroken(
  result: CliResult,
  seq: number,
  problem: string,
  intact: { events: number; lastCheckpoint: number },
  detail?: string,
): void {
  expect(result.stderr).toBe('');
  const [first, second, rest] = result.stdout.split('\n');
  expect(first).toMatch(
    new RegExp(`^audit trail of "${INSTANCE}" is BROKEN at seq ${seq}: ${problem} \\(.+\\)$`),
  );
  if (detail !== undefined) expect(first).toContain(detail);
  expect(second).toBe(
    `  intact before it: ${intact.events} events, last checkpoint at seq ${intact.lastCheckpoint}`,
  );
  expect(rest).toBe('');
  expect(result.status).toBe(1);
}

function expectVerified(result: CliResult, output: string): void {
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe(output);
  expect(result.status).toBe(0);
}

// Every case has its own copy of the store, so the CLI runs overlap; each mostly loads the CLI.
describe.concurrent('airlock audit verify on a tampered store file', () => {
  it('an edited field: hash-mismatch at its seq; with its hash recomputed, the next link breaks', async () => {
    // The body keeps its old hash (and so does the hash column, a lookup copy of it).
    const bodyOnly = tamperedStore('edit-body', (db) => overwriteEvent(db, editedStatement()));
    const rehashedEvent = tamperedStore('edit-rehashed', (db) =>
      overwriteEvent(db, rehashed(editedStatement())),
    );
    // Re-linking the rest of the chain hides the edit from every link: the next signed head differs.
    const relinked = tamperedStore('edit-relinked', (db) =>
      rewriteChainFrom(db, EDITED_SEQ, [editedStatement(), ...eventsFrom(EDITED_SEQ + 1)]),
    );
    const [a, b, c] = await Promise.all([verify(bodyOnly), verify(rehashedEvent), verify(relinked)]);
    expectBroken(a, 15, 'hash-mismatch', { events: 14, lastCheckpoint: 10 });
    expectBroken(b, 16, 'prev-hash-mismatch', { events: 15, lastCheckpoint: 10 });
    // Between two checkpoints a full rewrite can be placed only in its signed interval (11..20).
    expectBroken(c, 20, 'checkpoint-mismatch', { events: 20, lastCheckpoint: 10 });
  });

  it('a deleted event: sequence-gap at its seq, in the middle and just before a checkpoint', async () => {
    const results = await Promise.all(
      [17, 29].map((seq) => verify(tamperedStore(`delete-${seq}`, (db) => deleteEvents(db, `seq = ${seq}`)))),
    );
    expectBroken(
      results[0]!,
      17,
      'sequence-gap',
      { events: 16, lastCheckpoint: 10 },
      'seq 17 is missing (next is seq 18)',
    );
    expectBroken(results[1]!, 29, 'sequence-gap', { events: 28, lastCheckpoint: 20 }, 'seq 29 is missing');
  });

  it('a reordering: out-of-order at the first displaced seq; re-linked, the next signed head differs', async () => {
    // Rows 14 and 15 trade seq numbers: the UPDATE is now read before the result of the count.
    const swappedRows = tamperedStore('swap-rows', (db) => {
      const renumber = db.prepare('UPDATE audit_events SET seq = ? WHERE instance = ? AND seq = ?');
      renumber.run(-1, INSTANCE, 14);
      renumber.run(14, INSTANCE, 15);
      renumber.run(15, INSTANCE, -1);
    });
    // The attacker renumbers the bodies too and re-links everything after them.
    const swappedChain = tamperedStore('swap-chain', (db) =>
      rewriteChainFrom(db, 14, [eventAt(15), eventAt(14), ...eventsFrom(16)]),
    );
    const [rows, chain] = await Promise.all([verify(swappedRows), verify(swappedChain)]);
    expectBroken(
      rows,
      14,
      'out-of-order',
      { events: 13, lastCheckpoint: 10 },
      'expected seq 14, found seq 15',
    );
    expectBroken(chain, 20, 'checkpoint-mismatch', { events: 20, lastCheckpoint: 10 });
  });

  it('an inserted event: the next signed head differs; a replayed copy is a duplicate sequence', async () => {
    // A forged decision, correctly hashed and linked at 13, its successors renumbered and re-linked.
    const forged = eventAt(13);
    (forged.what as Record<string, JsonValue>).sql = 'select 1';
    const inserted = tamperedStore('insert-renumbered', (db) =>
      rewriteChainFrom(db, 13, [forged, ...eventsFrom(13)]),
    );
    // The primary key (instance, seq) refuses a second row at seq 13, and rows under another
    // instance name are never read for this one; so the replay of seq 13 goes to the free row 44.
    const replayed = tamperedStore('insert-replay', (db) => {
      expect(() => insertEvent(db, eventAt(13))).toThrow(/UNIQUE constraint failed/);
      insertEvent(db, eventAt(13), EVENTS + 1);
    });
    const [a, b] = await Promise.all([verify(inserted), verify(replayed)]);
    expectBroken(a, 20, 'checkpoint-mismatch', { events: 20, lastCheckpoint: 10 });
    expectBroken(
      b,
      13,
      'duplicate-sequence',
      { events: 43, lastCheckpoint: 40 },
      'seq 13 appears again after seq 43',
    );
  });

  it('a truncated tail: the unsigned tail can go unnoticed, signed events cannot', async () => {
    // No signature ever covered 41..43, so nothing proves they existed: before the cut verify said
    // "events 41..43 are not yet covered by a checkpoint" (see --from below); now the trail simply
    // ends at the last checkpoint.
    const unsignedCut = tamperedStore('truncate-unsigned', (db) => deleteEvents(db, 'seq > 40'));
    const signedCut = tamperedStore('truncate-signed', (db) => deleteEvents(db, 'seq > 25'));
    // Cutting the checkpoints as well leaves a shorter trail with a longer unsigned tail.
    const signedCutWithCheckpoints = tamperedStore('truncate-checkpoints', (db) => {
      deleteEvents(db, 'seq > 25');
      db.prepare('DELETE FROM audit_checkpoints WHERE instance = ? AND seq > 25').run(INSTANCE);
    });
    const [unsigned, signed, withCheckpoints] = await Promise.all([
      verify(unsignedCut),
      verify(signedCut),
      verify(signedCutWithCheckpoints),
    ]);
    expectVerified(unsigned, `verified 40 events of "${INSTANCE}", last checkpoint at seq 40\n`);
    expectBroken(
      signed,
      30,
      'checkpoint-without-event',
      { events: 25, lastCheckpoint: 20 },
      'a signed checkpoint covers seq 30, but the trail has no such event',
    );
    // The limit of signing every CHECKPOINT_EVERY events: only a copy of the checkpoints kept
    // elsewhere (an export, the audit sink) shows that seq 40 was once signed.
    expectVerified(
      withCheckpoints,
      `verified 25 events of "${INSTANCE}", last checkpoint at seq 20; events 21..25 are not yet covered by a checkpoint\n`,
    );
  });

  it('a forged signature: bad-signature at the checkpoint, for changed bytes and for another key', async () => {
    const flipped = tamperedStore('signature-bytes', (db) => {
      const checkpoint = checkpointAt(20);
      const bytes = Buffer.from(checkpoint.signature, 'base64');
      bytes[10] = bytes[10]! ^ 0x01;
      overwriteCheckpoint(db, { ...checkpoint, signature: bytes.toString('base64') });
    });
    const otherKey = tamperedStore('signature-other-key', (db) => {
      const checkpoint = checkpointAt(20);
      const forged = signCheckpoint(checkpoint, generateAuditSigningKey().privateKeyPem);
      expect(forged.keyId).not.toBe(checkpoint.keyId);
      overwriteCheckpoint(db, { ...forged, keyId: checkpoint.keyId });
    });
    const [a, b] = await Promise.all([verify(flipped), verify(otherKey)]);
    expectBroken(a, 20, 'bad-signature', { events: 20, lastCheckpoint: 10 }, 'signature does not verify');
    expectBroken(b, 20, 'bad-signature', { events: 20, lastCheckpoint: 10 }, 'signature does not verify');
  });

  it('--from: intact after a checkpoint past the damage, broken from one before it', async () => {
    const configPath = tamperedStore('from', (db) => overwriteEvent(db, editedStatement()));
    const [after, before] = await Promise.all([
      verify(configPath, '--from', '21'),
      verify(configPath, '--from', '11'),
    ]);
    expectVerified(
      after,
      `verified 23 events of "${INSTANCE}" (seq 21 on, anchored by a signed checkpoint), last checkpoint at seq 40; events 41..43 are not yet covered by a checkpoint\n`,
    );
    expectBroken(before, 15, 'hash-mismatch', { events: 4, lastCheckpoint: 10 });
  });

  it('an exported JSONL file: an edited and a deleted line are reported at their seq offline', async () => {
    const exported = join(dir, 'export.jsonl');
    const exportRun = await runAirlockCliAsync([
      'audit',
      'export',
      '--config',
      tamperedStore('export', () => {}),
      '--out',
      exported,
    ]);
    expect(exportRun.stderr).toBe('');
    expect(exportRun.status).toBe(0);
    const lines = readFileSync(exported, 'utf8').trimEnd().split('\n');
    const lineOf = (seq: number): number => {
      const index = lines.findIndex((line) => {
        const record = JSON.parse(line) as { type: string; seq?: number };
        return record.type === 'event' && record.seq === seq;
      });
      expect(index).toBeGreaterThan(0);
      return index;
    };
    const edited = [...lines];
    edited[lineOf(EDITED_SEQ)] = canonicalJson({ ...editedStatement(), type: 'event' });
    const editedFile = join(dir, 'export-edited.jsonl');
    writeFileSync(editedFile, `${edited.join('\n')}\n`);
    // Seq 30 is the event the checkpoint at 30 signs; that checkpoint's line stays.
    const deletedFile = join(dir, 'export-deleted.jsonl');
    writeFileSync(deletedFile, `${lines.filter((_, i) => i !== lineOf(30)).join('\n')}\n`);
    const publicKey = auditPublicKeyPath(keyPath);
    const [a, b] = await Promise.all(
      [editedFile, deletedFile].map((file) =>
        runAirlockCliAsync(['audit', 'verify', '--file', file, '--public-key', publicKey]),
      ),
    );
    expectBroken(a!, 15, 'hash-mismatch', { events: 14, lastCheckpoint: 10 });
    expectBroken(b!, 30, 'sequence-gap', { events: 29, lastCheckpoint: 20 });
  });
});
