// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} text is what these tests feed the loader.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_APPROVAL_SETTINGS } from '../approvals/approval-settings.js';
import type { AirlockConfig } from './config-types.js';
import { ConfigError, loadConfigFile, parseConfigText } from './load-config.js';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-config-'));
  mkdirSync(join(dir, 'certs'));
  writeFileSync(join(dir, 'certs', 'gateway.crt'), CERT);
  writeFileSync(join(dir, 'certs', 'gateway.key'), KEY);
  writeFileSync(join(dir, 'ca.crt'), CERT);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const MINIMAL = `
listen:
  postgres: 127.0.0.1:6432
upstreams:
  shop:
    url: postgres://airlock_gw@db.internal:5432/shop
roles:
  reporting:
    upstream: shop
`;

function parse(text: string, env: NodeJS.ProcessEnv = {}): AirlockConfig {
  return parseConfigText(text, { baseDir: dir, source: null, env });
}

/** The ConfigError `run` throws (fails the test when it does not throw one). */
function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function errorFor(text: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  return configError(() => parse(text, env));
}

/** MINIMAL with one more top-level section appended. */
function withSection(yaml: string): string {
  return `${MINIMAL}${yaml}\n`;
}

describe('parseConfigText: a valid file', () => {
  it('resolves every key of a full file', () => {
    const config = parse(
      `
listen:
  postgres: 0.0.0.0:6432
  http: '[::1]:6480'
  allow_plaintext_remote: true
  advertise: airlock.example.com:5432
tls: { cert: certs/gateway.crt, key: certs/gateway.key }
store: sqlite:data/airlock.db
upstreams:
  shop:
    url: postgresql://airlock_gw@db.internal:6543/shop
    password: \${SHOP_DB_PASSWORD}
    tls: { mode: verify-full, ca: ca.crt }
    connect_timeout: 3s
  local:
    url: postgres://gw@127.0.0.1/dev
    tls: require
roles:
  reporting:
    upstream: shop
    allow: [{ tables: [public.orders], operations: [select] }]
    search_path: [public]
auth:
  method: password
  scram_iterations: 10000
tokens:
  default_ttl: 5m
  max_ttl: 2h
  revocation_check: 500ms
limits:
  max_message_size: 16MiB
  startup_timeout: 5s
  max_connections: 50
shutdown:
  grace: 0
log:
  level: debug
audit:
  instance: gw-1
  signing_key: /etc/airlock/audit.key
  checkpoint_every: 250
auditors:
  carol: { key: '\${CAROL_AUDIT_KEY}' }
`,
      { SHOP_DB_PASSWORD: 's3cret', CAROL_AUDIT_KEY: 'c'.repeat(64) },
    );
    expect(config).toEqual({
      source: null,
      listen: {
        postgres: { host: '0.0.0.0', port: 6432 },
        http: { host: '::1', port: 6480 },
        advertise: { host: 'airlock.example.com', port: 5432 },
        allowPlaintextRemote: true,
      },
      tls: { cert: CERT, key: KEY },
      store: { kind: 'sqlite', path: join(dir, 'data', 'airlock.db') },
      upstreams: {
        shop: {
          name: 'shop',
          host: 'db.internal',
          port: 6543,
          database: 'shop',
          user: 'airlock_gw',
          password: 's3cret',
          tls: { mode: 'verify-full', ca: CERT },
          connectTimeoutMs: 3000,
        },
        local: {
          name: 'local',
          host: '127.0.0.1',
          port: 5432,
          database: 'dev',
          user: 'gw',
          password: null,
          tls: { mode: 'require', ca: null },
          connectTimeoutMs: 10_000,
        },
      },
      roles: {
        reporting: {
          name: 'reporting',
          upstream: 'shop',
          rules: { allow: [{ tables: ['public.orders'], operations: ['select'] }], search_path: ['public'] },
          policy: {
            role: 'reporting',
            searchPath: ['public'],
            allow: [
              {
                source: 'roles.reporting.allow[0]',
                tables: [{ schema: 'public', name: 'orders' }],
                operations: ['select'],
              },
            ],
            approve: [],
            deny: [],
            functions: [],
            readOnly: true,
            destructive: 'approve',
          },
          masking: null,
          approval: DEFAULT_APPROVAL_SETTINGS,
        },
      },
      auth: { method: 'password', scramIterations: 10_000 },
      tokens: { defaultTtlMs: 300_000, maxTtlMs: 7_200_000, revocationCheckMs: 500 },
      limits: { maxMessageBytes: 16 * 1024 * 1024, startupTimeoutMs: 5000, maxConnections: 50 },
      shutdown: { graceMs: 0 },
      log: { level: 'debug' },
      audit: {
        instance: 'gw-1',
        signingKeyPath: '/etc/airlock/audit.key',
        checkpointEvery: 250,
        checkpointIntervalMs: 10_000,
        durability: 'fsync',
        sink: null,
      },
      auditors: {
        carol: { name: 'carol', keySha256: createHash('sha256').update('c'.repeat(64)).digest('hex') },
      },
      trust: [],
      reviewers: {},
      notify: [],
      approvals: { publicUrl: null, pollMs: 500 },
      masking: { catalogRefreshMs: 30_000 },
    });
  });

  it('fills in the defaults around a minimal file', () => {
    const config = parse(MINIMAL);
    expect(config.listen).toEqual({
      postgres: { host: '127.0.0.1', port: 6432 },
      http: null,
      advertise: null,
      allowPlaintextRemote: false,
    });
    expect(config.tls).toBeNull();
    expect(config.store).toEqual({ kind: 'sqlite', path: join(dir, 'airlock.db') });
    expect(config.upstreams.shop).toEqual({
      name: 'shop',
      host: 'db.internal',
      port: 5432,
      database: 'shop',
      user: 'airlock_gw',
      password: null,
      tls: { mode: 'verify-full', ca: null },
      connectTimeoutMs: 10_000,
    });
    expect(config.roles.reporting).toEqual({
      name: 'reporting',
      upstream: 'shop',
      rules: {},
      policy: {
        role: 'reporting',
        searchPath: ['public'],
        allow: [],
        approve: [],
        deny: [],
        functions: [],
        readOnly: true,
        destructive: 'approve',
      },
      masking: null,
      approval: DEFAULT_APPROVAL_SETTINGS,
    });
    expect(config.auth).toEqual({ method: 'scram-sha-256', scramIterations: 4096 });
    expect(config.tokens).toEqual({ defaultTtlMs: 900_000, maxTtlMs: 86_400_000, revocationCheckMs: 5000 });
    expect(config.limits).toEqual({
      maxMessageBytes: 64 * 1024 * 1024,
      startupTimeoutMs: 10_000,
      maxConnections: 1000,
    });
    expect(config.shutdown).toEqual({ graceMs: 30_000 });
    expect(config.log).toEqual({ level: 'info' });
    expect(config.audit).toEqual({
      instance: hostname(),
      signingKeyPath: join(dir, 'airlock-audit.key'),
      checkpointEvery: 100,
      checkpointIntervalMs: 10_000,
      durability: 'fsync',
      sink: null,
    });
    expect(config.auditors).toEqual({});
  });

  it('reads the audit section, the key path relative to the config dir', () => {
    const config = parse(
      withSection(
        'audit:\n  instance: gw-eu-1\n  signing_key: keys/audit.key\n  checkpoint_every: "500"\n  checkpoint_interval: 2s\n  durability: os',
      ),
    );
    expect(config.audit).toEqual({
      instance: 'gw-eu-1',
      signingKeyPath: join(dir, 'keys', 'audit.key'),
      checkpointEvery: 500,
      checkpointIntervalMs: 2000,
      durability: 'os',
      sink: null,
    });
  });

  it('refuses an unknown audit.durability and a checkpoint_interval out of range, naming the fix', () => {
    const durability = errorFor(withSection('audit: { durability: none }'));
    expect(durability.key).toBe('audit.durability');
    expect(durability.fix).toMatch(/fsync.*os/);
    expect(errorFor(withSection('audit: { checkpoint_interval: 1ms }')).key).toBe(
      'audit.checkpoint_interval',
    );
    expect(errorFor(withSection('audit: { checkpoint_interval: 2d }')).key).toBe('audit.checkpoint_interval');
  });

  it('refuses checkpoint_every outside 1..100000, an empty instance and unknown audit keys', () => {
    for (const value of ['0', '100001', '1.5']) {
      const error = errorFor(withSection(`audit: { checkpoint_every: ${value} }`));
      expect(error.key).toBe('audit.checkpoint_every');
      expect(error.fix).toBe('write a whole number from 1 to 100000');
    }
    expect(errorFor(withSection('audit: { instance: "" }')).key).toBe('audit.instance');
    expect(errorFor(withSection('audit: { signing_key: "" }')).key).toBe('audit.signing_key');
    expect(errorFor(withSection('audit: { checkpoints: 5 }')).key).toBe('audit.checkpoints');
  });

  it('reads audit.sink with its defaults, the path relative to the config dir', () => {
    expect(parse(withSection('audit:\n  sink:')).audit.sink).toBeNull();
    expect(parse(withSection('audit:\n  sink:\n    path: logs/audit.jsonl')).audit.sink).toEqual({
      path: join(dir, 'logs', 'audit.jsonl'),
      maxBytes: 100 * 1024 * 1024,
      keep: 10,
      pollMs: 1000,
    });
    const sink = parse(
      withSection(
        'audit:\n  sink: { path: /var/log/airlock/a.jsonl, max_bytes: 1GiB, keep: 3, poll: 250ms }',
      ),
    ).audit.sink;
    expect(sink).toEqual({ path: '/var/log/airlock/a.jsonl', maxBytes: 1024 ** 3, keep: 3, pollMs: 250 });
  });

  it('refuses an audit.sink without a usable path or with bad limits, naming the key and the fix', () => {
    const cases: [string, string, RegExp][] = [
      ['{ keep: 3 }', 'audit.sink.path', /add path: <file>/],
      ['{ path: "" }', 'audit.sink.path', /name the file to write/],
      ['{ path: logs/ }', 'audit.sink.path', /name the file to write/],
      ['{ path: certs }', 'audit.sink.path', /name a file in it/],
      ['{ path: airlock.db }', 'audit.sink.path', /a file of its own/],
      ['{ path: airlock-audit.key.pub }', 'audit.sink.path', /a file of its own/],
      ['{ path: a.jsonl, max_bytes: 10B }', 'audit.sink.max_bytes', /between 1KiB and 1024GiB/],
      ['{ path: a.jsonl, keep: 0 }', 'audit.sink.keep', /from 1 to 1000/],
      ['{ path: a.jsonl, poll: 1ms }', 'audit.sink.poll', /raise it/],
      ['{ path: a.jsonl, rotate: daily }', 'audit.sink.rotate', /known keys: path, max_bytes, keep, poll/],
      ['/var/log/audit.jsonl', 'audit.sink', /shape of this section/],
    ];
    for (const [value, key, fix] of cases) {
      const error = errorFor(withSection(`audit:\n  sink: ${value}`));
      expect({ value, key: error.key }).toEqual({ value, key });
      expect(error.fix).toMatch(fix);
    }
  });

  it('keeps only the SHA-256 of each auditor key; an empty auditors section means none', () => {
    const key = 'a1'.repeat(32);
    const config = parse(withSection('auditors:\n  carol:\n    key: ${KEY}\n  dave: { key: "${OTHER}" }'), {
      KEY: key,
      OTHER: 'b'.repeat(32),
    });
    expect(Object.keys(config.auditors)).toEqual(['carol', 'dave']);
    expect(config.auditors.carol?.keySha256).toBe(createHash('sha256').update(key).digest('hex'));
    expect(JSON.stringify(config)).not.toContain(key);
    expect(parse(withSection('auditors:')).auditors).toEqual({});
    expect(parse(withSection('auditors: {}')).auditors).toEqual({});
  });

  it('refuses short, unprintable, shared and missing auditor keys without quoting them', () => {
    const short = errorFor(withSection('auditors: { carol: { key: "${KEY}" } }'), { KEY: 'x'.repeat(31) });
    expect(short.message).toBe(
      'auditors.carol.key: is shorter than 32 characters; generate one with: openssl rand -hex 32 (and set it through an environment variable)',
    );
    const spaced = errorFor(withSection('auditors: { carol: { key: "${KEY}" } }'), {
      KEY: `${'x'.repeat(32)} y`,
    });
    expect(spaced.key).toBe('auditors.carol.key');
    expect(spaced.message).toContain('visible ASCII');
    expect(spaced.message).not.toContain('xxxx');
    const shared = errorFor(withSection('auditors: { carol: { key: "${KEY}" }, dave: { key: "${KEY}" } }'), {
      KEY: 'k'.repeat(40),
    });
    expect(shared.message).toContain('auditors.dave.key: is the same key as auditors.carol.key');
    expect(errorFor(withSection('auditors: { carol: {} }')).key).toBe('auditors.carol.key');
    expect(errorFor(withSection('auditors: { carol: { key: 12 } }')).message).not.toContain('12');
    expect(
      errorFor(withSection('auditors: { carol: { key: "${KEY}", role: admin } }'), { KEY: 'k'.repeat(40) })
        .key,
    ).toBe('auditors.carol.role');
    expect(errorFor(withSection('auditors: { "bad name": { key: x } }')).key).toBe('auditors.bad name');
  });

  it('treats empty sections as all defaults', () => {
    const config = parse(withSection('tokens:\nlimits:\nauth: {}'));
    expect(config.tokens.defaultTtlMs).toBe(900_000);
    expect(config.limits.maxConnections).toBe(1000);
  });

  it('accepts port 0 and sqlite::memory: (for tests)', () => {
    const config = parse(
      MINIMAL.replace('127.0.0.1:6432', '127.0.0.1:0').concat("store: 'sqlite::memory:'\n"),
    );
    expect(config.listen.postgres.port).toBe(0);
    expect(config.store).toEqual({ kind: 'sqlite', path: ':memory:' });
  });

  it('accepts numbers and booleans written as text, as ${VAR} produces them', () => {
    const config = parse(
      withSection(
        'limits: { max_connections: "${MAX}", max_message_size: "${SIZE}" }\nauth: { scram_iterations: "8192" }',
      ),
      { MAX: '20', SIZE: '2048' },
    );
    expect(config.limits.maxConnections).toBe(20);
    expect(config.limits.maxMessageBytes).toBe(2048);
    expect(config.auth.scramIterations).toBe(8192);
    expect(
      parse(MINIMAL.replace('listen:', 'listen:\n  allow_plaintext_remote: "true"')).listen
        .allowPlaintextRemote,
    ).toBe(true);
  });
});

describe('parseConfigText: upstream TLS default', () => {
  it.each([
    ['localhost', 'disable'],
    ['127.0.0.1', 'disable'],
    ['127.0.0.53', 'disable'],
    ['[::1]', 'disable'],
    ['db.internal', 'verify-full'],
    ['10.0.0.5', 'verify-full'],
    ['[2001:db8::1]', 'verify-full'],
  ])('upstream host %s defaults to %s', (host, mode) => {
    const config = parse(MINIMAL.replace('db.internal', host));
    expect(config.upstreams.shop?.tls.mode).toBe(mode);
  });

  it('lets an explicit mode override the default either way', () => {
    expect(parse(MINIMAL.replace('db.internal', 'localhost').concat('    ')).upstreams.shop?.tls.mode).toBe(
      'disable',
    );
    const local = MINIMAL.replace('db.internal', 'localhost').replace(
      '/shop\n',
      '/shop\n    tls: verify-full\n',
    );
    expect(parse(local).upstreams.shop?.tls.mode).toBe('verify-full');
    const remote = MINIMAL.replace('/shop\n', '/shop\n    tls: { mode: disable }\n');
    expect(parse(remote).upstreams.shop?.tls.mode).toBe('disable');
  });

  it('makes a ca without a mode mean verify-full, even on loopback', () => {
    const text = MINIMAL.replace('db.internal', 'localhost').replace(
      '/shop\n',
      '/shop\n    tls: { ca: ca.crt }\n',
    );
    expect(parse(text).upstreams.shop?.tls).toEqual({ mode: 'verify-full', ca: CERT });
  });
});

describe('parseConfigText: environment variables', () => {
  it('substitutes ${VAR} in any string value and keeps $${ as a literal ${', () => {
    const text = MINIMAL.replace('db.internal', '${DB_HOST}').concat(
      '    search_path: [\'"cost $${PRICE}"\', "${OWNER}"]\n',
    );
    const config = parse(text, { DB_HOST: 'db.prod', OWNER: 'ops' });
    expect(config.upstreams.shop?.host).toBe('db.prod');
    expect(config.roles.reporting?.rules).toEqual({ search_path: ['"cost ${PRICE}"', 'ops'] });
    expect(config.roles.reporting?.policy.searchPath).toEqual(['cost ${PRICE}', 'ops']);
  });

  it('refuses an unset variable, naming the key and the variable', () => {
    const error = errorFor(MINIMAL.replace('/shop\n', '/shop\n    password: ${SHOP_DB_PASSWORD}\n'));
    expect(error.message).toBe(
      'upstreams.shop.password: environment variable SHOP_DB_PASSWORD is not set; export it or remove the key',
    );
    expect(error.key).toBe('upstreams.shop.password');
    expect(error.fix).toBe('export it or remove the key');
  });

  it('reports only the missing variable, not the invalid value it leaves behind', () => {
    const error = errorFor(withSection('tokens: { default_ttl: "${TTL}" }'));
    expect(error.issues).toEqual([
      {
        key: 'tokens.default_ttl',
        problem: 'environment variable TTL is not set',
        fix: 'export it or remove the key',
      },
    ]);
  });

  it('refuses an empty password', () => {
    const error = errorFor(MINIMAL.replace('/shop\n', '/shop\n    password: ${PW}\n'), { PW: '' });
    expect(error.message).toBe('upstreams.shop.password: is empty; set it to the password or remove the key');
  });
});

describe('parseConfigText: secrets', () => {
  it('refuses a password written into the url, without repeating it', () => {
    const error = errorFor(MINIMAL.replace('airlock_gw@', 'airlock_gw:Tr0ub4dor@'));
    expect(error.key).toBe('upstreams.shop.url');
    expect(error.message).toContain(
      'upstreams.shop.url: contains a password; secrets must not sit in the config file',
    );
    expect(error.message).not.toContain('Tr0ub4dor');
  });

  it('accepts a url password that is itself a ${VAR}', () => {
    const config = parse(MINIMAL.replace('airlock_gw@', 'airlock_gw:${PW}@'), { PW: 'from-env' });
    expect(config.upstreams.shop?.password).toBe('from-env');
  });

  it('refuses a password given both in the url and in password', () => {
    const text = MINIMAL.replace('airlock_gw@', 'airlock_gw:${PW}@').replace(
      '/shop\n',
      '/shop\n    password: ${PW}\n',
    );
    expect(errorFor(text, { PW: 'x' }).key).toBe('upstreams.shop.password');
  });

  it('never puts a substituted secret into an error message', () => {
    const text = MINIMAL.replace('/shop\n', '/shop\n    password: ${PW}\n    connect_timeout: ${PW}\n');
    const error = errorFor(text, { PW: 'very-secret-value' });
    expect(error.message).not.toContain('very-secret-value');
    expect(error.message).toContain('upstreams.shop.connect_timeout: "${PW}" is not a duration');
  });
});

describe('parseConfigText: bad input', () => {
  it.each([
    ['localhost', '"localhost" is not host:port'],
    ['127.0.0.1:70000', 'port 70000 is out of range (0-65535)'],
    ['not a host:1', '"not a host" is not a valid host'],
    ['6432', 'expected host:port, got a number'],
  ])('refuses listen.postgres %j', (value, problem) => {
    const error = errorFor(MINIMAL.replace('127.0.0.1:6432', value));
    expect(error.key).toBe('listen.postgres');
    expect(error.issues[0]?.problem).toBe(problem);
    expect(error.fix).toContain('host:port');
  });

  it('requires listen.postgres, upstreams and roles', () => {
    const error = errorFor('log: { level: info }');
    expect(error.issues.map((issue) => issue.key)).toEqual(['listen.postgres', 'upstreams', 'roles']);
  });

  it('refuses an unknown top-level key and lists the known ones', () => {
    const error = errorFor(withSection('listne: {}'));
    expect(error.key).toBe('listne');
    expect(error.message).toMatch(
      /^listne: is not a known key; remove it or fix the spelling \(known keys: listen, tls,/,
    );
  });

  it.each([
    ['listen', 'listen:\n  allow_plaintext: true', 'listen.allow_plaintext'],
    ['tls', 'tls: { cert: a, key: b, ca: c }', 'tls.ca'],
    ['upstream', '', 'upstreams.shop.sslmode'],
    ['upstream tls', '', 'upstreams.shop.tls.verify'],
    ['auth', 'auth: { methods: password }', 'auth.methods'],
    ['tokens', 'tokens: { ttl: 1h }', 'tokens.ttl'],
    ['limits', 'limits: { max_message_bytes: 1024 }', 'limits.max_message_bytes'],
    ['shutdown', 'shutdown: { grace_ms: 1 }', 'shutdown.grace_ms'],
    ['log', 'log: { format: json }', 'log.format'],
  ])('refuses an unknown key in %s', (_section, yaml, key) => {
    let text = withSection(yaml).replace('listen:\n  postgres: 127.0.0.1:6432\nlisten:', 'listen:');
    if (key === 'upstreams.shop.sslmode') text = MINIMAL.replace('/shop\n', '/shop\n    sslmode: disable\n');
    if (key === 'upstreams.shop.tls.verify')
      text = MINIMAL.replace('/shop\n', '/shop\n    tls: { verify: false }\n');
    if (key === 'listen.allow_plaintext')
      text = MINIMAL.replace('listen:', 'listen:\n  allow_plaintext: true');
    const error = errorFor(text);
    expect(error.issues.map((issue) => issue.key)).toContain(key);
    expect(error.message).toContain(`${key}: is not a known key; remove it or fix the spelling (known keys:`);
  });

  it('refuses unknown keys under a role: a typo must not weaken the policy', () => {
    const error = errorFor(MINIMAL.concat('    alow: [{ tables: [public.orders], operations: [select] }]\n'));
    expect(error.message).toBe(
      'roles.reporting.alow: is not a known key; remove it or fix the spelling (known keys: upstream, search_path, allow, approve, deny, functions, mask, approval)',
    );
  });

  it('refuses a role whose upstream is not defined', () => {
    const error = errorFor(MINIMAL.replace('upstream: shop', 'upstream: shopp'));
    expect(error.key).toBe('roles.reporting.upstream');
    expect(error.message).toContain(
      'roles.reporting.upstream: "shopp" is not a defined upstream (defined: shop)',
    );
  });

  it('refuses a role without an upstream', () => {
    const error = errorFor(MINIMAL.replace('    upstream: shop', '    allow: [select]'));
    expect(error.message).toBe(
      'roles.reporting.upstream: is required; add upstream: <the name of an upstream>',
    );
  });

  it('quotes what the file says, not what a variable held', () => {
    const error = errorFor(MINIMAL.replace('/shop\n', '/shop\n    tls: ${MODE}\n'), { MODE: 'hidden' });
    expect(error.message).toContain('upstreams.shop.tls.mode: "${MODE}" is not one of');
    expect(error.message).not.toContain('hidden');
  });

  it.each(['verify', 'prefer', 'VERIFY-FULL'])('refuses tls mode %j', (mode) => {
    const error = errorFor(MINIMAL.replace('/shop\n', `/shop\n    tls: ${mode}\n`));
    expect(error.key).toBe('upstreams.shop.tls.mode');
    expect(error.message).toContain('is not one of disable | require | verify-full');
  });

  it('refuses a ca with a mode that does not verify', () => {
    const error = errorFor(MINIMAL.replace('/shop\n', '/shop\n    tls: { mode: require, ca: ca.crt }\n'));
    expect(error.key).toBe('upstreams.shop.tls.ca');
  });

  it.each(['sh op', '1shop', 'a'.repeat(64), '__proto__'])('refuses the upstream name %j', (name) => {
    const error = errorFor(MINIMAL.replace('  shop:\n', `  '${name}':\n`));
    expect(error.key).toBe(`upstreams.${name}`);
  });

  it('gives upstream and role lookups no inherited members', () => {
    const config = parse(MINIMAL);
    expect(config.upstreams.constructor).toBeUndefined();
    expect(config.roles.toString).toBeUndefined();
  });

  it.each([
    ['15 minutes', '"15 minutes" is not a duration'],
    ['1.5h', '"1.5h" is not a duration'],
    ['-1s', '"-1s" is not a duration'],
    ['0', 'must be at least 1s'],
  ])('refuses the duration %j', (value, problem) => {
    const error = errorFor(withSection(`tokens: { default_ttl: "${value}" }`));
    expect(error.key).toBe('tokens.default_ttl');
    expect(error.issues[0]?.problem).toBe(problem);
  });

  it('refuses timer durations Node cannot hold', () => {
    expect(errorFor(withSection('shutdown: { grace: 30d }')).message).toBe(
      'shutdown.grace: must be at most 24d; lower it',
    );
  });

  it('refuses a default_ttl above max_ttl', () => {
    expect(errorFor(withSection('tokens: { default_ttl: 2d }')).key).toBe('tokens.default_ttl');
  });

  it.each([
    ['64MB', '"64MB" is not a size'],
    ['lots', '"lots" is not a size'],
    ['512B', 'must be at least 1KiB'],
    ['2GiB', 'must be at most 1GiB'],
  ])('refuses the size %j', (value, problem) => {
    const error = errorFor(withSection(`limits: { max_message_size: ${value} }`));
    expect(error.key).toBe('limits.max_message_size');
    expect(error.issues[0]?.problem).toBe(problem);
  });

  it('refuses scram_iterations below 4096 and unknown auth methods', () => {
    expect(errorFor(withSection('auth: { scram_iterations: 1000 }')).key).toBe('auth.scram_iterations');
    expect(errorFor(withSection('auth: { method: md5 }')).message).toContain(
      'auth.method: "md5" is not one of scram-sha-256 | password',
    );
  });

  it('refuses stores other than sqlite without quoting them', () => {
    const error = errorFor(withSection('store: postgres://u:pw@h/db'));
    expect(error.message).toBe(
      "store: uses an unsupported store; only sqlite: exists; write sqlite:<path>, e.g. sqlite:./airlock.db ('sqlite::memory:', quoted, for tests)",
    );
  });

  it('reports a YAML syntax error with line and column', () => {
    const error = errorFor('listen:\n  postgres: [127.0.0.1:6432\nroles: {}\n');
    expect(error.key).toBe('');
    expect(error.message).toMatch(/^YAML syntax error at line \d+, column \d+: /);
    expect(error.issues).toHaveLength(1);
  });

  it('reports duplicate keys as YAML errors', () => {
    expect(errorFor(`${MINIMAL}listen: {}\n`).message).toMatch(/line 10, column 1: Map keys must be unique/);
  });

  it('refuses an empty file, a non-mapping and a recursive alias', () => {
    expect(errorFor('').message).toContain('the config is empty');
    expect(errorFor('- a\n- b\n').message).toContain('must be a YAML mapping');
    expect(errorFor(`${MINIMAL}    loop: &a [*a]\n`).message).toContain(
      'a YAML alias refers to a node that contains it',
    );
  });

  it('collects every issue, one per line', () => {
    const error = errorFor(
      MINIMAL.replace('127.0.0.1:6432', 'nope')
        .replace('upstream: shop', 'upstream: nope')
        .concat('bogus: 1\n'),
    );
    expect(error.message.split('\n').map((line) => line.split(':')[0])).toEqual(['listen.postgres', 'bogus']);
    expect(error.issues).toHaveLength(2);
  });
});

describe('parseConfigText: listener TLS files', () => {
  it('reads cert and key relative to baseDir', () => {
    const config = parse(withSection('tls:\n  cert: certs/gateway.crt\n  key: certs/gateway.key'));
    expect(config.tls).toEqual({ cert: CERT, key: KEY });
  });

  it('refuses a cert without a key', () => {
    const error = errorFor(withSection('tls: { cert: certs/gateway.crt }'));
    expect(error.message).toBe(
      'tls.key: is missing while tls.cert is set; set both tls.cert and tls.key, or remove tls',
    );
  });

  it('names the key and the path of a missing file', () => {
    const error = errorFor(withSection('tls: { cert: certs/missing.crt, key: certs/gateway.key }'));
    expect(error.key).toBe('tls.cert');
    expect(error.message).toContain(`file ${join(dir, 'certs', 'missing.crt')} does not exist`);
  });

  it('refuses files that do not hold what they claim, without quoting them', () => {
    const error = errorFor(withSection('tls: { cert: certs/gateway.key, key: certs/gateway.crt }'));
    expect(error.issues.map((issue) => issue.key)).toEqual(['tls.cert', 'tls.key']);
    expect(error.message).not.toContain('MII');
  });

  it('refuses a directory', () => {
    expect(errorFor(withSection('tls: { cert: certs, key: certs/gateway.key }')).message).toContain(
      'is a directory',
    );
  });
});

describe('the result', () => {
  it('is deeply frozen', () => {
    const config = parse(MINIMAL.concat('    allow: [{ tables: [public.orders], operations: [select] }]\n'));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listen.postgres)).toBe(true);
    expect(Object.isFrozen(config.upstreams)).toBe(true);
    expect(Object.isFrozen(config.upstreams.shop?.tls)).toBe(true);
    const allow = config.roles.reporting?.rules.allow as { tables: string[] }[];
    expect(Object.isFrozen(allow[0]?.tables)).toBe(true);
    expect(Object.isFrozen(config.roles.reporting?.policy.allow[0]?.tables[0])).toBe(true);
    expect(() => {
      (config.limits as { maxConnections: number }).maxConnections = 1;
    }).toThrow(TypeError);
  });
});

describe('loadConfigFile', () => {
  it('reads the file, records its absolute path and resolves paths against its directory', () => {
    const path = join(dir, 'airlock.yaml');
    writeFileSync(
      path,
      withSection('tls: { cert: certs/gateway.crt, key: certs/gateway.key }\nstore: sqlite:state.db'),
    );
    const config = loadConfigFile(path, {});
    expect(config.source).toBe(path);
    expect(config.tls?.cert).toBe(CERT);
    expect(config.store.path).toBe(join(dir, 'state.db'));
  });

  it('names the path of a missing file', () => {
    const path = join(dir, 'nope.yaml');
    const error = configError(() => loadConfigFile(path, {}));
    expect(error.message).toContain(`config file ${path} does not exist`);
  });

  it('loads airlock.example.yaml', () => {
    const example = new URL('../../airlock.example.yaml', import.meta.url);
    const config = loadConfigFile(example.pathname, { SHOP_DB_PASSWORD: 'example' });
    expect(Object.keys(config.upstreams)).toContain('shop');
    expect(config.upstreams.shop?.password).toBe('example');
    expect(Object.keys(config.reviewers)).toEqual(['alice']);
    expect(config.roles.reporting?.approval.timeoutMs).toBe(15 * 60_000);
  });
});

describe('upstreamSecrets: ignored (token commands never connect upstream)', () => {
  const text = [
    'listen:',
    '  postgres: 127.0.0.1:6432',
    'upstreams:',
    '  shop:',
    '    url: postgres://gw@db.example.com:5432/shop',
    '    password: ${SHOP_DB_PASSWORD}',
    'roles:',
    '  reporting:',
    '    upstream: shop',
  ].join('\n');

  it('does not need the upstream password variable and resolves the password as null', () => {
    const config = parseConfigText(text, {
      baseDir: '/tmp',
      source: null,
      env: {},
      upstreamSecrets: 'ignored',
    });
    expect(config.upstreams.shop?.password).toBeNull();
  });

  it('skips the auditors section, whose keys only the running gateway needs', () => {
    const config = parseConfigText(`${text}\nauditors:\n  carol: { key: '\${CAROL_AUDIT_KEY}' }\n`, {
      baseDir: '/tmp',
      source: null,
      env: {},
      upstreamSecrets: 'ignored',
    });
    expect(config.auditors).toEqual({});
  });

  it('still requires it by default (serve)', () => {
    expect(() => parseConfigText(text, { baseDir: '/tmp', source: null, env: {} })).toThrow(
      /SHOP_DB_PASSWORD/,
    );
  });
});

describe('role policy', () => {
  const POLICY = [
    '    search_path: [public, app]',
    '    allow:',
    '      - tables: [public.orders, public.customers, app.*]',
    '        operations: [select]',
    '    approve:',
    '      - tables: [public.orders]',
    '        operations: [update, delete]',
    '    deny:',
    '      - tables: [public.secrets]',
    '    functions: [public.order_total]',
    '',
  ].join('\n');

  it('resolves allow, approve, deny, functions and search_path into the role policy', () => {
    const policy = parse(MINIMAL.concat(POLICY)).roles.reporting?.policy;
    expect(policy).toEqual({
      role: 'reporting',
      searchPath: ['public', 'app'],
      allow: [
        {
          source: 'roles.reporting.allow[0]',
          tables: [
            { schema: 'public', name: 'orders' },
            { schema: 'public', name: 'customers' },
            { schema: 'app', name: '*' },
          ],
          operations: ['select'],
        },
      ],
      approve: [
        {
          source: 'roles.reporting.approve[0]',
          tables: [{ schema: 'public', name: 'orders' }],
          operations: ['update', 'delete'],
        },
      ],
      deny: [
        {
          source: 'roles.reporting.deny[0]',
          tables: [{ schema: 'public', name: 'secrets' }],
          operations: ['select', 'insert', 'update', 'delete', 'truncate', 'ddl', 'lock', 'maintenance'],
        },
      ],
      functions: [{ schema: 'public', name: 'order_total' }],
      // Updates and deletes that need approval are still writes the session must be able to run.
      readOnly: false,
      destructive: 'approve',
    });
  });

  it('reports every policy problem of every role as key: problem; fix', () => {
    const text = MINIMAL.concat(
      [
        '    allow:',
        '      - tables: [orders]',
        '        operations: [selct]',
        '  writer:',
        '    upstream: shop',
        '    deny:',
        '      - tables: []',
        '',
      ].join('\n'),
    );
    const error = errorFor(text);
    expect(error.issues.map((issue) => issue.key)).toEqual([
      'roles.reporting.allow[0].tables[0]',
      'roles.reporting.allow[0].operations[0]',
      'roles.writer.deny[0].tables',
    ]);
    expect(error.message).toContain(
      'roles.reporting.allow[0].tables[0]: "orders" is not schema-qualified; write public.orders',
    );
  });

  it('reports policy problems together with the other cross-checks', () => {
    const text = `${MINIMAL}    functions: [order_total]\ntokens: { default_ttl: 2h, max_ttl: 1h }\n`;
    expect(errorFor(text).issues.map((issue) => issue.key)).toEqual([
      'roles.reporting.functions[0]',
      'tokens.default_ttl',
    ]);
  });
});

describe('parseConfigText: approvals', () => {
  const KEY = 'a'.repeat(64);

  it('keeps only the hash of each reviewer key, with the subjects that are that person', () => {
    const config = parse(
      withSection(`reviewers:\n  alice:\n    key: \${ALICE_KEY}\n    subjects: [alice@example.com]`),
      { ALICE_KEY: KEY },
    );
    expect(config.reviewers).toEqual({
      alice: {
        name: 'alice',
        keySha256: createHash('sha256').update(KEY).digest('hex'),
        subjects: ['alice@example.com'],
      },
    });
    expect(JSON.stringify(config)).not.toContain(KEY);
  });

  it('refuses a short reviewer key and one shared by two reviewers, without quoting them', () => {
    const short = errorFor(withSection('reviewers:\n  bob: { key: short-key }'));
    expect(short.message).toContain('reviewers.bob.key: is shorter than 32 characters');
    expect(short.message).not.toContain('short-key');
    const shared = errorFor(withSection(`reviewers:\n  a: { key: ${KEY} }\n  b: { key: ${KEY} }`));
    expect(shared.message).toContain('reviewers.b.key: is the same key as reviewers.a.key');
    expect(shared.message).not.toContain(KEY);
  });

  it('accepts a reviewer key given as its SHA-256 only, and refuses both or neither', () => {
    const hash = createHash('sha256').update(KEY).digest('hex');
    const config = parse(withSection(`reviewers:\n  carol: { key_sha256: ${hash.toUpperCase()} }`));
    expect(config.reviewers.carol?.keySha256).toBe(hash);
    expect(errorFor(withSection('reviewers:\n  carol: { subjects: [x] }')).message).toContain(
      'reviewers.carol: has no key',
    );
    expect(
      errorFor(withSection(`reviewers:\n  carol: { key: ${KEY}, key_sha256: ${hash} }`)).message,
    ).toContain('reviewers.carol: has both key and key_sha256');
    expect(errorFor(withSection('reviewers:\n  carol: { key_sha256: abc }')).message).toContain(
      'reviewers.carol.key_sha256: is not 64 hex digits',
    );
  });

  it('lets a CLI load the file with only its own reviewer key set, without webhook secrets', () => {
    const text = withSection(
      `reviewers:\n  alice: { key: "\${ALICE_KEY}" }\n  bob: { key: "\${BOB_KEY}" }\nnotify:\n  - { url: https://hooks.example/x, secret: "\${HOOK_SECRET}" }`,
    );
    const config = parseConfigText(text, {
      baseDir: dir,
      source: null,
      env: { ALICE_KEY: KEY },
      upstreamSecrets: 'ignored',
    });
    expect(Object.keys(config.reviewers)).toEqual(['alice']);
    expect(config.notify).toEqual([]);
  });

  it('reads the approval config exactly as the issue writes it: ${VAR} unquoted in flow style', () => {
    const config = parse(
      withSection(
        [
          'reviewers:',
          '  alice: { key: ${ALICE_REVIEW_KEY} }',
          'notify:',
          '  - { url: https://hooks.example/airlock, secret: ${HOOK_SECRET} }',
          '  - { url: ${SLACK_WEBHOOK_URL}, format: slack }',
        ].join('\n'),
      ),
      {
        ALICE_REVIEW_KEY: KEY,
        HOOK_SECRET: 's'.repeat(32),
        SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X',
      },
    );
    expect(config.reviewers.alice?.keySha256).toBe(createHash('sha256').update(KEY).digest('hex'));
    expect(config.notify.map((t) => t.url)).toEqual([
      'https://hooks.example/airlock',
      'https://hooks.slack.com/services/T/B/X',
    ]);
  });

  it('reads webhook targets; a JSON receiver needs a secret, Slack does not', () => {
    const config = parse(
      withSection(
        `notify:\n  - { url: https://hooks.example/airlock, secret: ${'s'.repeat(32)} }\n  - { url: https://hooks.slack.com/services/T/B/X, format: slack }`,
      ),
    );
    expect(config.notify).toEqual([
      { url: 'https://hooks.example/airlock', secret: 's'.repeat(32), format: 'json' },
      { url: 'https://hooks.slack.com/services/T/B/X', secret: null, format: 'slack' },
    ]);
    expect(errorFor(withSection('notify:\n  - { url: https://hooks.example/x }')).message).toContain(
      'notify[0].secret: is required for format json',
    );
  });

  it('refuses a webhook URL that is not http(s) or carries credentials, without quoting it', () => {
    const ftp = errorFor(withSection('notify:\n  - { url: ftp://hooks.example/x, format: slack }'));
    expect(ftp.message).toContain('notify[0].url: is not an http(s) URL');
    const creds = errorFor(
      withSection('notify:\n  - { url: "https://u:hunter2@hooks.example/x", format: slack }'),
    );
    expect(creds.message).toContain('carries a user name or password');
    expect(creds.message).not.toContain('hunter2');
  });

  it('reads the approvals section and a role approval block; defaults otherwise', () => {
    const config = parse(
      `${MINIMAL}    approval: { timeout: 2m, approvers: 2, scope: run, destructive: allow }\napprovals:\n  public_url: https://airlock.example.com/\n  poll: 100ms\n`,
    );
    expect(config.roles.reporting?.approval).toEqual({
      timeoutMs: 120_000,
      approvers: 2,
      scope: 'run',
      destructive: 'allow',
    });
    expect(config.approvals).toEqual({ publicUrl: 'https://airlock.example.com', pollMs: 100 });
    expect(parse(MINIMAL).roles.reporting?.approval).toEqual(DEFAULT_APPROVAL_SETTINGS);
  });

  it('refuses approval typos and out-of-range values, naming the key', () => {
    const error = errorFor(`${MINIMAL}    approval: { timout: 2m, approvers: 0, scope: forever }\n`);
    expect(error.message).toContain('roles.reporting.approval.timout: is not a known key');
    expect(error.message).toContain(
      'roles.reporting.approval.approvers: 0 is not a whole number from 1 to 10',
    );
    expect(error.message).toContain('roles.reporting.approval.scope: "forever" is not allowed');
  });

  it('makes an approve rule without operations cover every write operation', () => {
    const config = parse(`${MINIMAL}    approve: [{ tables: [public.orders] }]\n`);
    expect(config.roles.reporting?.policy.approve[0]?.operations).toEqual([
      'insert',
      'update',
      'delete',
      'truncate',
      'ddl',
      'lock',
      'maintenance',
    ]);
  });
});
