/** buildConnectionInfo: URL encoding, wildcard and IPv6 hosts, sslmode defaults, the psql line. */
import { describe, expect, it } from 'vitest';
import { buildConnectionInfo } from './connection-info.js';
import type { IssuedToken } from './issue-token.js';

const issued: IssuedToken = {
  tokenId: 'at_abcdefghijklmnopqrst',
  secret: 'airlock_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  role: 'reader',
  upstream: 'shop',
  subject: 'alice@example.com',
  reason: 'PR #42',
  runId: 'gh-7',
  issuedAt: Date.UTC(2025, 0, 1, 12, 0, 0),
  expiresAt: Date.UTC(2025, 0, 1, 12, 15, 0),
};

describe('buildConnectionInfo', () => {
  it('gives every field an agent needs, for a loopback listener', () => {
    expect(buildConnectionInfo(issued, { host: '127.0.0.1', port: 6432 })).toEqual({
      user: 'at_abcdefghijklmnopqrst',
      password: issued.secret,
      host: '127.0.0.1',
      port: 6432,
      database: 'shop',
      url: `postgres://at_abcdefghijklmnopqrst:${issued.secret}@127.0.0.1:6432/shop`,
      expiresAt: '2025-01-01T12:15:00.000Z',
      tokenId: 'at_abcdefghijklmnopqrst',
      role: 'reader',
      subject: 'alice@example.com',
      reason: 'PR #42',
      runId: 'gh-7',
      psql: `psql "postgres://at_abcdefghijklmnopqrst:${issued.secret}@127.0.0.1:6432/shop?sslmode=disable"`,
    });
  });

  it.each(['0.0.0.0', '::'])('points a wildcard listener (%s) at 127.0.0.1', (host) => {
    const info = buildConnectionInfo(issued, { host, port: 6432 });
    expect(info.host).toBe('127.0.0.1');
    expect(info.url).toContain('@127.0.0.1:6432/');
  });

  it('requires TLS for a remote host and brackets IPv6 addresses', () => {
    const info = buildConnectionInfo(issued, { host: '2001:db8::1', port: 6432 });
    expect(info.host).toBe('2001:db8::1');
    expect(info.url).toContain('@[2001:db8::1]:6432/shop');
    expect(info.psql).toMatch(/\?sslmode=require"$/);
  });

  it.each(['localhost', '::1', '127.0.0.2'])('treats %s as loopback', (host) => {
    expect(buildConnectionInfo(issued, { host, port: 1 }).psql).toMatch(/sslmode=disable"$/);
  });

  it('uses the sslmode it is given', () => {
    const info = buildConnectionInfo(
      issued,
      { host: 'db.example.com', port: 6432 },
      { sslmode: 'verify-full' },
    );
    expect(info.psql).toBe(`psql "${info.url}?sslmode=verify-full"`);
  });

  it('percent-encodes the secret and database so the URL and the shell line stay intact', () => {
    const odd = { ...issued, secret: 'p@ss:w/rd$!"', upstream: 'my db' };
    const info = buildConnectionInfo(odd, { host: '127.0.0.1', port: 5 });
    expect(info.url).toBe('postgres://at_abcdefghijklmnopqrst:p%40ss%3Aw%2Frd%24%21%22@127.0.0.1:5/my%20db');
    expect(new URL(info.url).password).toBe('p%40ss%3Aw%2Frd%24%21%22');
    expect(decodeURIComponent(new URL(info.url).password)).toBe(odd.secret);
    expect(info.database).toBe('my db');
  });
});
