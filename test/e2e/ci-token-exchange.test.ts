/**
 * CI workload identity end to end: a local OIDC issuer (its own keys, discovery and JWKS on port 0) issues
 * GitHub- and GitLab-shaped ID tokens; the gateway exchanges valid ones for a token that psql then uses,
 * refuses every invalid one with a clear reason and an audit event, and a run revoking itself ends its
 * live sessions at once.
 */
import { execFile } from 'node:child_process';
import { KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { base64url, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAuditSigningKey } from '../../src/audit/checkpoint.js';
import type { ConnectionInfo } from '../../src/identity/connection-info.js';
import {
  githubClaims,
  gitlabClaims,
  type LocalOidcIssuer,
  startLocalOidcIssuer,
} from '../helpers/local-oidc-issuer.js';
import { findPostgresProgram, type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { auditLogOn, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const KEY = generateAuditSigningKey();
/** The gateway's clock runs this far ahead of real time (advanced to pass the JWKS refetch cooldown). */
let clockAhead = 0;
const INSTANCE = 'gw-ci';

describe('CI token exchange through a real gateway', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let issuer: LocalOidcIssuer;
  let api: string;

  beforeAll(async () => {
    db = await startRealPostgres();
    const direct = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: 'shop' });
    await direct.connect();
    await direct.query(
      'create table public.reports (id int); insert into public.reports values (1), (2); grant select on public.reports to public',
    );
    await direct.end();
    issuer = await startLocalOidcIssuer({ audience: 'airlock' });
    gw = await startTestGateway(db, {
      now: () => Date.now() + clockAhead,
      policy: true,
      audit: auditLogOn(INSTANCE, KEY.privateKeyPem),
      rolesYaml: [
        '  reporting:',
        '    upstream: shop',
        '    allow: [{ tables: [public.reports], operations: [select] }]',
        '  builder:',
        '    upstream: shop',
        '    allow: [{ tables: [public.reports], operations: [select] }]',
      ].join('\n'),
      extraYaml: [
        'tokens: { revocation_check: 100ms }',
        'trust:',
        `  - issuer: ${issuer.url}`,
        '    audience: airlock',
        '    bindings:',
        '      - claims: { repository: acme/shop, ref: refs/heads/main }',
        '        role: reporting',
        '        ttl: 20m',
        '        subject: "github:{repository}:{workflow}"',
        '        run_id: "{run_id}.{run_attempt}"',
        '        reason: "{event_name} {ref} @ {sha}"',
        '      - claims: { project_path: "acme/*", ref_type: branch }',
        '        role: builder',
        '        ttl: 10m',
        '        subject: "gitlab:{project_path}"',
        '        run_id: "{pipeline_id}"',
        '        reason: "pipeline {pipeline_id} on {ref}"',
      ].join('\n'),
    });
    api = `http://127.0.0.1:${gw.httpPort}`;
  });

  afterAll(async () => {
    await gw?.close();
    await issuer?.close();
    await db?.stop();
  });

  const exchange = async (token: string) => {
    const response = await fetch(`${api}/v1/token/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    return { status: response.status, body: (await response.json()) as ConnectionInfo & { error?: string } };
  };

  const exchangeEvents = async () =>
    (await gw.store.readAudit({ instance: INSTANCE })).events.filter((e) => e.kind === 'token.exchanged');

  it('exchanges a GitHub-shaped ID token for a run-bound token that psql connects with', async () => {
    const claims = githubClaims({ run_id: '555', run_attempt: '2', event_name: 'push' });
    const { status, body } = await exchange(await issuer.issue(claims));
    expect(status).toBe(200);
    expect(body).toMatchObject({
      role: 'reporting',
      subject: `github:acme/shop:${claims.workflow}`,
      runId: '555.2',
      reason: `push refs/heads/main @ ${claims.sha}`,
      host: '127.0.0.1',
      port: gw.port,
      database: 'shop',
    });
    expect(Date.parse(body.expiresAt) - Date.now()).toBeLessThanOrEqual(20 * 60_000);
    // psql in a child process, asynchronously: the gateway runs in this process's event loop.
    const run = await execFileAsync(
      findPostgresProgram('psql') ?? 'psql',
      ['-XAtc', 'select count(*) from public.reports'],
      {
        env: {
          ...db.psqlEnv(),
          PGHOST: body.host,
          PGPORT: String(body.port),
          PGUSER: body.user,
          PGPASSWORD: body.password,
          PGDATABASE: body.database,
          PGSSLMODE: 'disable',
        },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('2');
    const issued = (await exchangeEvents()).find((e) => e.who?.tokenId === body.tokenId);
    expect(issued?.what).toMatchObject({
      outcome: 'issued',
      issuer: issuer.url,
      binding: 'trust[0].bindings[0]',
    });
    expect(issued?.who?.claims).toMatchObject({ repository: 'acme/shop', run_id: '555' });
    expect(JSON.stringify(await exchangeEvents())).not.toContain(body.password);
  });

  it('binds a GitLab-shaped token by glob to its own role and run', async () => {
    const { status, body } = await exchange(await issuer.issue(gitlabClaims({ pipeline_id: '7777' })));
    expect(status).toBe(200);
    expect(body).toMatchObject({ role: 'builder', subject: 'gitlab:acme/shop', runId: '7777' });
  });

  it('airlock login --oidc gitlab exchanges the job token at this gateway and prints what psql needs', async () => {
    const token = await issuer.issue(gitlabClaims({ pipeline_id: '8888' }));
    const login = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', CLI, 'login', '--oidc', 'gitlab', '--gateway', api, '--format', 'json'],
      { env: { PATH: process.env.PATH, AIRLOCK_ID_TOKEN: token }, encoding: 'utf8', timeout: 30_000 },
    );
    expect(login.stdout).not.toContain(token);
    expect(login.stderr).not.toContain(token);
    const info = JSON.parse(login.stdout) as ConnectionInfo & { env: Record<string, string> };
    expect(info).toMatchObject({ role: 'builder', runId: '8888' });
    expect(info.env).toMatchObject({
      PGHOST: '127.0.0.1',
      PGPORT: String(gw.port),
      PGUSER: info.user,
      PGSSLMODE: 'disable',
    });
    const client = new pg.Client({
      host: info.env.PGHOST,
      port: Number(info.env.PGPORT),
      user: info.env.PGUSER,
      password: info.env.PGPASSWORD,
      database: info.env.PGDATABASE,
    });
    await client.connect();
    expect((await client.query('select count(*)::int as n from public.reports')).rows[0].n).toBe(2);
    await client.end();
  });

  it('refuses every invalid ID token with a clear reason and records each refusal', async () => {
    const now = Math.floor(Date.now() / 1000);
    const publicPem = KeyObject.from(issuer.publicKey('RS256')).export({ type: 'spki', format: 'pem' });
    const header = (alg: string) => base64url.encode(JSON.stringify({ alg, typ: 'JWT' }));
    const payload = base64url.encode(
      JSON.stringify({ ...githubClaims(), iss: issuer.url, aud: 'airlock', iat: now, exp: now + 300 }),
    );
    // Another key pair: a token signed with it under the issuer's kid is a forgery.
    const forger = await generateKeyPair('RS256');
    const cases: [string, string, number, RegExp][] = [
      ['wrong audience', await issuer.issue(githubClaims(), { aud: 'someone-else' }), 401, /audience/i],
      ['unknown issuer', await issuer.issue(githubClaims(), { iss: 'https://evil.example' }), 401, /issuer/i],
      ['expired', await issuer.issue(githubClaims(), { iat: now - 900, exp: now - 600 }), 401, /expired/i],
      [
        'not yet valid',
        await issuer.issue(githubClaims(), { nbf: now + 600 }),
        401,
        /not (yet )?valid|nbf|before/i,
      ],
      [
        'bad signature',
        await issuer.issue(githubClaims(), { signingKey: forger.privateKey }),
        401,
        /signature|key/i,
      ],
      ['alg none', `${header('none')}.${payload}.`, 401, /none|algorithm/i],
      [
        'HS256 with the public key as secret',
        await new SignJWT({ ...githubClaims() })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(issuer.url)
          .setAudience('airlock')
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(new TextEncoder().encode(String(publicPem))),
        401,
        /signed with "HS256"/,
      ],
      [
        'no binding matches',
        await issuer.issue(githubClaims({ repository: 'acme/other' })),
        403,
        /repository "acme\/other" does not match "acme\/shop"/,
      ],
      ['not a JWT', 'hello', 401, /not a signed JWT/],
    ];
    const before = (await exchangeEvents()).length;
    for (const [label, token, status, reason] of cases) {
      const answer = await exchange(token);
      expect(answer.status, label).toBe(status);
      expect(answer.body.error, label).toMatch(reason);
    }
    const refusals = (await exchangeEvents()).slice(before);
    expect(refusals).toHaveLength(cases.length);
    for (const event of refusals) expect(event.what?.outcome).toBe('refused');
    expect(JSON.stringify(refusals)).not.toContain(cases[0]![1]);
  });

  it('refuses a replayed ID token', async () => {
    const token = await issuer.issue(githubClaims({ run_id: '600' }));
    expect((await exchange(token)).status).toBe(200);
    const again = await exchange(token);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/already exchanged/);
  });

  it('follows key rotation: a token signed with a new key is accepted after the JWKS is fetched again', async () => {
    expect((await exchange(await issuer.issue(githubClaims({ run_id: '700' })))).status).toBe(200);
    await issuer.rotateKeys();
    // The gateway refetches keys for an unknown kid at most every 30 s per issuer (so forged kids cannot
    // hammer the issuer): move its clock past that instead of waiting.
    clockAhead += 31_000;
    const fetchesBefore = issuer.fetchCount;
    expect((await exchange(await issuer.issue(githubClaims({ run_id: '701' })))).status).toBe(200);
    expect(issuer.fetchCount).toBeGreaterThan(fetchesBefore);
  });

  it('ends every live session of a run at once when the run revokes itself with one of its tokens', async () => {
    const claims = { run_id: '800', run_attempt: '1' };
    const first = (await exchange(await issuer.issue(githubClaims(claims)))).body;
    const second = (await exchange(await issuer.issue(githubClaims(claims)))).body;
    const connect = async (info: ConnectionInfo) => {
      const client = new pg.Client({
        host: info.host,
        port: info.port,
        user: info.user,
        password: info.password,
        database: info.database,
      });
      const ended = new Promise<void>((resolve) => client.on('end', () => resolve()));
      client.on('error', () => {});
      await client.connect();
      return { client, ended };
    };
    const a = await connect(first);
    const b = await connect(second);
    expect((await a.client.query('select 1 as one')).rows[0].one).toBe(1);
    const revoke = await fetch(`${api}/v1/runs/800.1/revoke`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${first.user}:${first.password}`).toString('base64')}`,
      },
    });
    expect(revoke.status).toBe(200);
    expect(((await revoke.json()) as { revoked: string[] }).revoked.sort()).toEqual(
      [first.tokenId, second.tokenId].sort(),
    );
    await Promise.race([
      Promise.all([a.ended, b.ended]),
      new Promise((_, reject) => setTimeout(() => reject(new Error('sessions not ended')), 5000)),
    ]);
    const again = new pg.Client({
      host: first.host,
      port: first.port,
      user: first.user,
      password: first.password,
      database: first.database,
    });
    await expect(again.connect()).rejects.toMatchObject({ code: '28P01' });
  });
});
