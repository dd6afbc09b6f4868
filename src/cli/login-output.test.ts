/** What `airlock login` writes: env lines safe for $GITHUB_ENV and sh, mask commands exactly as the runner reads them. */
import { describe, expect, it } from 'vitest';
import type { ConnectionInfo } from '../identity/connection-info.js';
import {
  buildLoginEnv,
  chooseSslmode,
  formatEnvLines,
  formatLoginJson,
  githubMaskCommands,
} from './login-output.js';

const info: ConnectionInfo = {
  user: 'at_abcdefghijklmnopqrst',
  password: 'airlock_secret',
  host: 'airlock.example.com',
  port: 6432,
  database: 'shop',
  url: 'postgres://at_abcdefghijklmnopqrst:airlock_secret@airlock.example.com:6432/shop',
  expiresAt: '2030-01-01T00:00:00.000Z',
  tokenId: 'at_abcdefghijklmnopqrst',
  role: 'reporting',
  subject: 'gitlab:acme/shop',
  reason: 'push main',
  runId: null,
  psql: 'psql "postgres://at_abcdefghijklmnopqrst:airlock_secret@airlock.example.com:6432/shop?sslmode=require"',
};

describe('chooseSslmode', () => {
  it('verifies the certificate by default, disables TLS for loopback, and honours an explicit mode', () => {
    expect(chooseSslmode('airlock.example.com', null)).toBe('verify-full');
    expect(chooseSslmode('127.0.0.1', null)).toBe('disable');
    expect(chooseSslmode('::1', null)).toBe('disable');
    expect(chooseSslmode('airlock.example.com', 'require')).toBe('require');
  });
});

describe('formatEnvLines', () => {
  it('writes one NAME=value line per variable, in libpq order', () => {
    expect(formatEnvLines(buildLoginEnv(info, 'verify-full')).split('\n')).toEqual([
      'PGHOST=airlock.example.com',
      'PGPORT=6432',
      'PGUSER=at_abcdefghijklmnopqrst',
      'PGPASSWORD=airlock_secret',
      'PGDATABASE=shop',
      'PGSSLMODE=verify-full',
      'AIRLOCK_TOKEN_ID=at_abcdefghijklmnopqrst',
      'AIRLOCK_TOKEN_EXPIRES_AT=2030-01-01T00:00:00.000Z',
      '',
    ]);
  });

  it('adds AIRLOCK_RUN_ID when the token belongs to a CI run', () => {
    expect(formatEnvLines(buildLoginEnv({ ...info, runId: '9001.2' }, 'require'))).toMatch(
      /\nAIRLOCK_TOKEN_EXPIRES_AT=2030-01-01T00:00:00.000Z\nAIRLOCK_RUN_ID=9001.2\n$/,
    );
  });

  it.each([
    ['a newline (would inject a variable into later steps)', 'shop\nNODE_OPTIONS=--require=/tmp/x'],
    ['shell syntax (would run when the file is sourced)', 'shop$(id)'],
    ['a space', 'my shop'],
    ['nothing', ''],
  ])('refuses a value holding %s, naming only the variable', (_what, database) => {
    const attempt = () => formatEnvLines(buildLoginEnv({ ...info, database }, 'verify-full'));
    expect(attempt).toThrow(/a PGDATABASE value that cannot be written/);
    if (database !== '') expect(attempt).not.toThrow(database);
  });
});

describe('githubMaskCommands', () => {
  it('masks the password and the URL', () => {
    expect(githubMaskCommands(info)).toBe(`::add-mask::airlock_secret\n::add-mask::${info.url}\n`);
  });

  it('also masks the URL-encoded password, and escapes % CR LF as the runner unescapes them', () => {
    const password = 'p%0A@ss';
    const url = `postgres://u:${encodeURIComponent(password)}@h:1/d`;
    expect(githubMaskCommands({ ...info, password, url }).split('\n')).toEqual([
      '::add-mask::p%250A@ss',
      '::add-mask::p%25250A%2540ss',
      '::add-mask::postgres://u:p%25250A%2540ss@h:1/d',
      '',
    ]);
  });
});

describe('formatLoginJson', () => {
  it('keeps the connection details, rewrites the psql line for the chosen sslmode, and adds env', () => {
    const env = buildLoginEnv(info, 'verify-full');
    const printed = JSON.parse(formatLoginJson(info, 'verify-full', env));
    expect(printed).toEqual({
      ...info,
      psql: `psql "${info.url}?sslmode=verify-full"`,
      sslmode: 'verify-full',
      env,
    });
  });
});
