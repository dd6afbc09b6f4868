// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} text is what these tests feed the loader.
import { describe, expect, it } from 'vitest';
import { parseUpstreamUrl } from './upstream-url.js';

const KEY = 'upstreams.shop.url';

function parse(url: string, env: NodeJS.ProcessEnv = {}) {
  return parseUpstreamUrl(url, env, KEY);
}

describe('parseUpstreamUrl', () => {
  it('reads user, host, port and database', () => {
    expect(parse('postgres://airlock_gw@db.internal:6543/shop')).toEqual({
      ok: true,
      address: { host: 'db.internal', port: 6543, database: 'shop', user: 'airlock_gw', password: null },
    });
  });

  it('accepts postgresql://, defaults the port to 5432, decodes percent-escapes and lowercases the host', () => {
    expect(parse('postgresql://gw%40corp@DB.Internal/my%20db')).toEqual({
      ok: true,
      address: { host: 'db.internal', port: 5432, database: 'my db', user: 'gw@corp', password: null },
    });
  });

  it('unwraps IPv6 hosts', () => {
    const result = parse('postgres://gw@[::1]:5432/shop');
    expect(result.ok && result.address.host).toBe('::1');
  });

  it('refuses a literal password without quoting it', () => {
    for (const url of ['postgres://gw:hunter2@db/shop', 'postgres://gw:hun/ter2@db/shop']) {
      const result = parse(url);
      expect(result.ok).toBe(false);
      const text = JSON.stringify(result);
      expect(text).toContain('contains a password; secrets must not sit in the config file');
      expect(text).toContain('upstreams.shop.password');
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('ter2');
    }
  });

  it('takes a ${VAR} password from the environment verbatim, reserved characters and all', () => {
    expect(parse('postgres://gw:${PW}@db/shop', { PW: 'p@ss/w:rd?#' })).toEqual({
      ok: true,
      address: { host: 'db', port: 5432, database: 'shop', user: 'gw', password: 'p@ss/w:rd?#' },
    });
  });

  it('substitutes variables in the other parts of the URL', () => {
    const result = parse('postgres://${U}@${H}:${P}/shop', { U: 'gw', H: 'db.internal', P: '6000' });
    expect(result).toEqual({
      ok: true,
      address: { host: 'db.internal', port: 6000, database: 'shop', user: 'gw', password: null },
    });
  });

  it.each([
    ['mysql://gw@db/shop', 'is not a postgres:// or postgresql:// URL'],
    ['postgres://db/shop', 'names no user'],
    ['postgres://gw@db', 'must name exactly one database in its path'],
    ['postgres://gw@db/', 'must name exactly one database in its path'],
    ['postgres://gw@db/a/b', 'must name exactly one database in its path'],
    ['postgres://gw@db:0/shop', 'has port 0'],
    ['postgres://gw@db:99999/shop', 'is not a valid URL'],
    ['postgres://gw@db/shop?sslmode=disable', 'has query parameters or a fragment, which are not supported'],
    ['postgres://gw@bad%20host/shop', 'has no valid host'],
  ])('refuses %s', (url, problem) => {
    const result = parse(url);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((issue) => issue.problem)).toContain(problem);
    if (!result.ok) expect(result.issues.every((issue) => issue.key === KEY)).toBe(true);
  });
});
