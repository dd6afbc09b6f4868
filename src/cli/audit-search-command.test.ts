// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} text is what the config file holds.
/** `airlock audit search` as a real child process on a temporary config and store. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirlockCli } from '../../test/helpers/run-cli.js';
import type { ChainedAuditEvent } from '../audit/audit-event.js';
import { AuditChain } from '../audit/hash-chain.js';
import { SqliteStore } from '../store/sqlite-store.js';

let dir: string;
let configPath: string;
let stored: ChainedAuditEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-audit-search-cli-'));
  configPath = join(dir, 'airlock.yaml');
  writeFileSync(
    configPath,
    [
      'listen:',
      '  postgres: 127.0.0.1:6432',
      'store: sqlite:./airlock.db',
      'upstreams:',
      '  shop:',
      '    url: postgres://gw@127.0.0.1:5432/shop',
      '    password: ${SHOP_DB_PASSWORD}',
      'roles:',
      '  reporting:',
      '    upstream: shop',
      'audit:',
      '  instance: gw-search',
      'auditors:',
      '  carol: { key: "${CAROL_AUDIT_KEY}" }',
      '',
    ].join('\n'),
  );
  const store = new SqliteStore(join(dir, 'airlock.db'));
  const who = { tokenId: 'at_1', subject: 'alice@example.com', role: 'reporting' };
  await store.appendAudit('gw-search', () => {
    const chain = new AuditChain('gw-search');
    const statement = (minute: number, sql: string, decision: string, tables: string[]) =>
      chain.append({
        kind: 'statement.decided',
        at: `2024-05-01T10:0${minute}:00Z`,
        who,
        where: { sessionId: 's-1' },
        what: { statement: minute, sql, via: 'simple-query', decision, tables, accesses: [] },
      });
    stored = [
      chain.append({ kind: 'token.issued', at: '2024-05-01T10:00:00Z', who, why: { runId: 'run-9' } }),
      statement(1, 'SELECT id, total\n  FROM orders', 'allow', ['public.orders']),
      statement(2, 'DELETE FROM orders', 'deny', ['public.orders']),
      statement(3, 'SELECT * FROM customers', 'allow', ['public.customers']),
    ];
    return { events: stored };
  });
  await store.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('airlock audit search', () => {
  it('prints the matching events as stored with --json, without needing gateway secrets', () => {
    const result = runAirlockCli(['audit', 'search', '--config', configPath, '--table', 'orders', '--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const events = JSON.parse(result.stdout) as ChainedAuditEvent[];
    expect(events).toEqual([stored[2], stored[1]]);
  });

  it('prints one line per event, and a cursor on stderr when more match', () => {
    const result = runAirlockCli([
      'audit',
      'search',
      '--config',
      configPath,
      '--subject',
      'alice@example.com',
      '--kind',
      'statement.decided',
      '--kind',
      'token.issued',
      '--limit',
      '3',
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      '2024-05-01T10:03:00Z  gw-search#4  statement.decided  alice@example.com  allow  public.customers  SELECT * FROM customers',
      '2024-05-01T10:02:00Z  gw-search#3  statement.decided  alice@example.com  deny  public.orders  DELETE FROM orders',
      '2024-05-01T10:01:00Z  gw-search#2  statement.decided  alice@example.com  allow  public.orders  SELECT id, total FROM orders',
      '',
    ]);
    const cursor = /--cursor (\S+)/.exec(result.stderr)?.[1];
    expect(cursor).toBeDefined();
    const next = runAirlockCli(['audit', 'search', '--config', configPath, '--cursor', cursor!, '--json']);
    expect((JSON.parse(next.stdout) as ChainedAuditEvent[]).map((e) => e.seq)).toEqual([1]);
    expect(next.stderr).toBe('');
  });

  it('refuses a bad option value naming the option (exit 2)', () => {
    const since = runAirlockCli(['audit', 'search', '--config', configPath, '--since', 'yesterday']);
    expect(since.status).toBe(2);
    expect(since.stdout).toBe('');
    expect(since.stderr).toContain('airlock: --since "yesterday" is not an ISO 8601 date or date-time');
    const kind = runAirlockCli(['audit', 'search', '--config', configPath, '--kind', 'token.issued,nope']);
    expect(kind.status).toBe(2);
    expect(kind.stderr).toContain('--kind "nope" is not an event kind');
  });
});
