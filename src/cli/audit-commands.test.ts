/** `airlock token …` and `airlock audit …` as real child processes on a temporary config, store and key. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runAirlockCli } from '../../test/helpers/run-cli.js';

let dir: string;
let configPath: string;
let dbPath: string;
let keyPath: string;

function airlock(...args: string[]): CliResult {
  return runAirlockCli(args);
}

function issue(subject: string): string {
  const result = airlock(
    'token',
    'issue',
    '--config',
    configPath,
    '--role',
    'reader',
    '--subject',
    subject,
    '--reason',
    'PR #7: audit',
    '--run-id',
    'run-1',
    '--json',
  );
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return (JSON.parse(result.stdout) as { tokenId: string }).tokenId;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-audit-cli-'));
  configPath = join(dir, 'airlock.yaml');
  dbPath = join(dir, 'airlock.db');
  keyPath = join(dir, 'keys', 'audit.key');
  writeFileSync(
    configPath,
    [
      'listen:',
      '  postgres: 127.0.0.1:6432',
      'store: sqlite:./airlock.db',
      'upstreams:',
      '  shop:',
      '    url: postgres://gw@127.0.0.1:5432/shop',
      '    tls: disable',
      'roles:',
      '  reader:',
      '    upstream: shop',
      'audit:',
      '  instance: gw-cli-test',
      '  signing_key: ./keys/audit.key',
      '',
    ].join('\n'),
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('airlock audit', () => {
  let first: string;

  it('records token.issued and token.revoked, never the secret, and verifies them (exit 0)', () => {
    const result = airlock(
      'token',
      'issue',
      '--config',
      configPath,
      '--role',
      'reader',
      '--subject',
      'alice@example.com',
      '--reason',
      'PR #7: audit',
      '--json',
    );
    expect(result.status).toBe(0);
    const info = JSON.parse(result.stdout) as { tokenId: string; url: string };
    first = info.tokenId;
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    issue('bob@example.com');
    expect(airlock('token', 'revoke', first, '--config', configPath).status).toBe(0);

    const db = new Database(dbPath, { readonly: true });
    const bodies = (db.prepare('SELECT body FROM audit_events ORDER BY seq').all() as { body: string }[]).map(
      (row) => row.body,
    );
    db.close();
    expect(bodies).toHaveLength(3);
    const secret = new URL(info.url).password;
    expect(secret.length).toBeGreaterThan(8);
    for (const body of bodies) expect(body).not.toContain(decodeURIComponent(secret));
    const events = bodies.map((b) => JSON.parse(b) as Record<string, unknown>);
    expect(events.map((e) => e.kind)).toEqual(['token.issued', 'token.issued', 'token.revoked']);
    expect(events[0]).toMatchObject({
      instance: 'gw-cli-test',
      who: { tokenId: first, subject: 'alice@example.com', role: 'reader' },
      why: { reason: 'PR #7: audit', runId: null },
      what: { upstream: 'shop' },
    });
    expect(events[2]).toMatchObject({ who: { tokenId: first } });

    const verify = airlock('audit', 'verify', '--config', configPath);
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
    // Each CLI command signs its tail before it exits.
    expect(verify.stdout).toBe('verified 3 events of "gw-cli-test", last checkpoint at seq 3\n');
  });

  it('verifies from a checkpoint with --from', () => {
    const verify = airlock('audit', 'verify', '--config', configPath, '--from', '3');
    expect(verify.status).toBe(0);
    expect(verify.stdout).toContain('verified 1 events');
    expect(verify.stdout).toContain('seq 3 on');
  });

  it('exports JSONL that verifies offline with the public key alone (exit 0)', () => {
    const out = join(dir, 'export.jsonl');
    const result = airlock('audit', 'export', '--config', configPath, '--format', 'jsonl', '--out', out);
    expect(result.status).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual([
      'header',
      'event',
      'checkpoint',
      'event',
      'checkpoint',
      'event',
      'checkpoint',
    ]);
    const stdoutExport = airlock('audit', 'export', '--config', configPath);
    expect(stdoutExport.stdout).toBe(readFileSync(out, 'utf8'));

    const offline = airlock('audit', 'verify', '--file', out, '--public-key', `${keyPath}.pub`);
    expect(offline.stderr).toBe('');
    expect(offline.status).toBe(0);
    expect(offline.stdout).toContain('verified 3 events of "gw-cli-test"');

    const since = airlock('audit', 'export', '--config', configPath, '--since', '2999-01-01T00:00:00Z');
    expect(since.status).toBe(0);
    expect(since.stdout.split('\n').filter((l) => l.includes('"type":"event"'))).toHaveLength(0);
  });

  it('refuses an offline verify with the wrong public key (exit 1)', () => {
    const otherKey = join(dir, 'other', 'audit.key');
    const otherConfig = join(dir, 'other.yaml');
    writeFileSync(
      otherConfig,
      readFileSync(configPath, 'utf8')
        .replace('./keys/audit.key', './other/audit.key')
        .replace('./airlock.db', './other.db'),
    );
    expect(airlock('token', 'list', '--config', otherConfig).status).toBe(0);
    const result = airlock(
      'audit',
      'verify',
      '--file',
      join(dir, 'export.jsonl'),
      '--public-key',
      `${otherKey}.pub`,
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('BROKEN at seq 1: unknown-key');
  });

  it('reports an event edited in the SQLite file, naming its seq (exit 1)', () => {
    const db = new Database(dbPath);
    const row = db.prepare('SELECT body FROM audit_events WHERE seq = 2').get() as { body: string };
    const edited = row.body.replace('bob@example.com', 'mallory@example.com');
    expect(edited).not.toBe(row.body);
    db.prepare('UPDATE audit_events SET body = ? WHERE seq = 2').run(edited);
    db.close();
    const verify = airlock('audit', 'verify', '--config', configPath);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain('BROKEN at seq 2: hash-mismatch');
  });

  it('refuses an unsupported format and a bad --from as usage errors (exit 2)', () => {
    const format = airlock('audit', 'export', '--config', configPath, '--format', 'csv');
    expect(format.status).toBe(2);
    expect(format.stderr).toContain('use --format jsonl');
    const from = airlock('audit', 'verify', '--config', configPath, '--from', 'x');
    expect(from.status).toBe(2);
    const noKey = airlock('audit', 'verify', '--file', join(dir, 'export.jsonl'));
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toContain('--public-key');
  });
});
