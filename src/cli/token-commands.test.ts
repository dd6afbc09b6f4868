/** `airlock token …` run as a real child process against a temporary config and SQLite store. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runAirlockCli } from '../../test/helpers/run-cli.js';

let dir: string;
let configPath: string;

function airlock(...args: string[]): CliResult {
  return runAirlockCli(args);
}

/** Runs with the temp config; fails the test with the CLI's stderr when the exit code differs. */
function airlockOk(...args: string[]): string {
  const result = airlock(...args, '--config', configPath);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-cli-'));
  configPath = join(dir, 'airlock.yaml');
  writeFileSync(
    configPath,
    [
      'listen:',
      '  postgres: 127.0.0.1:6432',
      `store: sqlite:${join(dir, 'state', 'airlock.db')}`,
      'upstreams:',
      '  shop:',
      '    url: postgres://gw@127.0.0.1:5432/shop',
      // Never set: token commands must work without the gateway's database password.
      `    password: \${AIRLOCK_TEST_UNSET_DB_PASSWORD}`,
      '    tls: disable',
      'roles:',
      '  reader:',
      '    upstream: shop',
      'tokens:',
      '  max_ttl: 1h',
      '',
    ].join('\n'),
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('airlock token issue', () => {
  it('prints exactly one JSON object with the connection details under --json', () => {
    const before = Date.now();
    const stdout = airlockOk(
      'token',
      'issue',
      '--role',
      'reader',
      '--subject',
      'alice@example.com',
      '--reason',
      'PR #42: fix order totals',
      '--ttl',
      '10m',
      '--run-id',
      'gh-7',
      '--json',
    );
    const info = JSON.parse(stdout);
    expect(info).toMatchObject({
      host: '127.0.0.1',
      port: 6432,
      database: 'shop',
      role: 'reader',
      subject: 'alice@example.com',
      reason: 'PR #42: fix order totals',
      runId: 'gh-7',
    });
    expect(info.user).toMatch(/^at_[a-z2-7]{20}$/);
    expect(info.tokenId).toBe(info.user);
    expect(info.password).toMatch(/^airlock_[A-Za-z0-9_-]{43}$/);
    expect(info.url).toBe(`postgres://${info.user}:${info.password}@127.0.0.1:6432/shop`);
    expect(info.psql).toBe(`psql "${info.url}?sslmode=disable"`);
    const ttl = Date.parse(info.expiresAt) - before;
    expect(ttl).toBeGreaterThan(9 * 60_000);
    expect(ttl).toBeLessThanOrEqual(10 * 60_000 + 30_000);
  });

  it('prints the token id, role, upstream, expiry and how to connect for people', () => {
    const stdout = airlockOk('token', 'issue', '--role', 'reader', '--subject', 'bob', '--reason', 'triage');
    expect(stdout).toMatch(/Issued at_[a-z2-7]{20} for bob/);
    expect(stdout).toMatch(/role: +reader/);
    expect(stdout).toMatch(/upstream: +shop/);
    expect(stdout).toMatch(/expires: +\d{4}-\d\d-\d\dT.*\(in 15m\)/);
    expect(stdout).toMatch(
      /psql "postgres:\/\/at_[a-z2-7]{20}:airlock_[^@]+@127\.0\.0\.1:6432\/shop\?sslmode=disable"/,
    );
  });

  it('exits 2 naming the defined roles when the role is unknown', () => {
    const result = airlock(
      'token',
      'issue',
      '--role',
      'admin',
      '--subject',
      'a',
      '--reason',
      'b',
      '--config',
      configPath,
    );
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('unknown role "admin"; defined roles: reader');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['unparseable', 'soon', /--ttl: "soon" is not a duration/],
    ['over the maximum', '2h', /exceeds the maximum of 1h/],
    ['zero', '0s', /ttl must be a positive/],
  ])('exits 2 for a ttl that is %s', (_what, ttl, message) => {
    const result = airlock(
      'token',
      'issue',
      '--role',
      'reader',
      '--subject',
      'a',
      '--reason',
      'b',
      '--ttl',
      ttl,
      '--config',
      configPath,
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('exits 2 when a required option is missing', () => {
    const result = airlock('token', 'issue', '--role', 'reader', '--subject', 'a', '--config', configPath);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("required option '--reason <why>' not specified");
  });

  it('exits 2 when the config file does not exist', () => {
    const missing = join(dir, 'missing.yaml');
    const result = airlock('token', 'list', '--config', missing);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(missing);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('airlock token list and revoke', () => {
  it('lists live tokens, revokes one, and shows it as revoked under --all', () => {
    const issued = JSON.parse(
      airlockOk(
        'token',
        'issue',
        '--role',
        'reader',
        '--subject',
        'carol',
        '--reason',
        'to revoke',
        '--json',
      ),
    );

    const live = JSON.parse(airlockOk('token', 'list', '--json')) as Record<string, unknown>[];
    const entry = live.find((token) => token.tokenId === issued.tokenId);
    expect(entry).toMatchObject({
      role: 'reader',
      upstream: 'shop',
      subject: 'carol',
      status: 'live',
      revokedAt: null,
    });
    for (const token of live) {
      expect(Object.keys(token)).not.toContain('verifier');
      expect(JSON.stringify(token)).not.toContain('airlock_');
    }
    expect(airlockOk('token', 'list')).toMatch(
      new RegExp(`${issued.tokenId} +reader +carol +to revoke +\\S+ +live`),
    );

    expect(airlockOk('token', 'revoke', issued.tokenId)).toBe(`revoked ${issued.tokenId}\n`);
    expect(airlockOk('token', 'revoke', issued.tokenId)).toMatch(
      new RegExp(`^${issued.tokenId} was already revoked at `),
    );

    const afterRevoke = JSON.parse(airlockOk('token', 'list', '--json')) as Record<string, unknown>[];
    expect(afterRevoke.map((token) => token.tokenId)).not.toContain(issued.tokenId);
    const all = JSON.parse(airlockOk('token', 'list', '--all', '--json')) as Record<string, unknown>[];
    expect(all.find((token) => token.tokenId === issued.tokenId)).toMatchObject({ status: 'revoked' });
    expect(airlockOk('token', 'list', '--all')).toMatch(new RegExp(`${issued.tokenId} .* revoked`));
  });

  it('revokes every live token of a CI run with --run, and needs either an id or --run', () => {
    const issue = (runId: string) =>
      JSON.parse(
        airlockOk(
          'token',
          'issue',
          '--role',
          'reader',
          '--subject',
          'ci',
          '--reason',
          'r',
          '--run-id',
          runId,
          '--json',
        ),
      ) as { tokenId: string };
    const a = issue('gh-900.1');
    const b = issue('gh-900.1');
    const other = issue('gh-901.1');
    const ids = [a.tokenId, b.tokenId].sort();
    expect(airlockOk('token', 'revoke', '--run', 'gh-900.1')).toBe(
      `revoked 2 tokens of run gh-900.1: ${ids.join(', ')}\n`,
    );
    expect(airlockOk('token', 'revoke', '--run', 'gh-900.1')).toBe('no live token of run gh-900.1\n');
    const live = (JSON.parse(airlockOk('token', 'list', '--json')) as { tokenId: string }[]).map(
      (t) => t.tokenId,
    );
    expect(live).toContain(other.tokenId);
    expect(live).not.toContain(a.tokenId);
    for (const args of [
      ['token', 'revoke'],
      ['token', 'revoke', a.tokenId, '--run', 'x'],
    ]) {
      const result = airlock(...args, '--config', configPath);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('give either a token id or --run <run id>');
    }
  });

  it('exits 1 with a message when revoking an unknown token', () => {
    const result = airlock('token', 'revoke', 'at_aaaaaaaaaaaaaaaaaaaa', '--config', configPath);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('airlock: no token at_aaaaaaaaaaaaaaaaaaaa');
  });
});

describe('airlock', () => {
  it('prints its version', () => {
    const result = airlock('--version');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 for an unknown command', () => {
    const result = airlock('bogus');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown command 'bogus'");
  });
});
