/**
 * `airlock login` against a local HTTP server that stands in for both GitHub's ID token endpoint and
 * the gateway's exchange endpoint; in-process through runLogin, and a few runs of the real CLI.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAirlockCliAsync } from '../../test/helpers/run-cli.js';
import type { ConnectionInfo } from '../identity/connection-info.js';
import { type LoginIo, LoginUsageError, runLogin } from './login-command.js';
import type { LoginCliOptions } from './login-options.js';

const REQUEST_TOKEN = 'ghs_runnerRequestToken123';
const PASSWORD = 'airlock_S3cretS3cretS3cretS3cretS3cretS3cretS3c';

/** A JWT-shaped token with these claims (unsigned: the fake gateway does not verify it). */
function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk`;
}

const GITHUB_JWT = fakeJwt({ iss: 'https://token.actions.githubusercontent.com', aud: 'airlock', run: 1 });
const GITLAB_JWT = fakeJwt({ iss: 'https://gitlab.com', aud: 'airlock', pipeline_id: '77' });

function connectionInfo(host = 'airlock.example.com'): ConnectionInfo {
  const url = `postgres://at_abcdefghijklmnopqrst:${PASSWORD}@${host}:6432/shop`;
  return {
    user: 'at_abcdefghijklmnopqrst',
    password: PASSWORD,
    host,
    port: 6432,
    database: 'shop',
    url,
    expiresAt: '2030-01-01T12:20:00.000Z',
    tokenId: 'at_abcdefghijklmnopqrst',
    role: 'reporting',
    subject: 'github:acme/shop:CI',
    reason: 'push refs/heads/main',
    runId: '9001.1',
    psql: `psql "${url}?sslmode=require"`,
  };
}

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: string;
}

type Responder = (request: SeenRequest, response: ServerResponse) => void;

/** One server, two roles: /github/token answers like GitHub, /v1/token/exchange like the gateway. */
let server: Server;
let base: string;
let seen: SeenRequest[] = [];
let githubResponder: Responder;
let gatewayResponder: Responder;

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const defaultGithub: Responder = (request, response) => {
  if (request.authorization !== `Bearer ${REQUEST_TOKEN}`) return sendJson(response, 401, { message: 'no' });
  sendJson(response, 200, { count: 1, value: GITHUB_JWT });
};

const defaultGateway: Responder = (request, response) => {
  const token = (JSON.parse(request.body) as { token?: string }).token;
  if (token !== GITHUB_JWT && token !== GITLAB_JWT) return sendJson(response, 401, { error: 'bad token' });
  sendJson(response, 200, connectionInfo());
};

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const record: SeenRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        authorization: request.headers.authorization,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(record);
      if (record.url.startsWith('/github/token')) githubResponder(record, response);
      else if (record.url.startsWith('/gw/v1/token/exchange') || record.url.startsWith('/v1/token/exchange'))
        gatewayResponder(record, response);
      else sendJson(response, 404, { error: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  seen = [];
  githubResponder = defaultGithub;
  gatewayResponder = defaultGateway;
});

afterAll(async () => {
  // Requests the slow-answer cases left hanging must not keep the server open.
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

githubResponder = defaultGithub;
gatewayResponder = defaultGateway;

function options(overrides: Partial<LoginCliOptions> = {}): LoginCliOptions {
  return {
    oidc: 'github',
    gateway: base,
    audience: 'airlock',
    format: 'env',
    idTokenEnv: 'AIRLOCK_ID_TOKEN',
    timeout: '5s',
    ...overrides,
  };
}

interface Captured {
  stdout: string;
  stderr: string;
  appended: { path: string; text: string }[];
}

/** Runs a login with `env` and captures everything it writes. */
async function login(
  cli: Partial<LoginCliOptions>,
  env: Record<string, string>,
  stdoutIsFile = true,
): Promise<Captured> {
  const captured: Captured = { stdout: '', stderr: '', appended: [] };
  const io: LoginIo = {
    env,
    writeStdout: (text) => {
      captured.stdout += text;
    },
    writeStderr: (text) => {
      captured.stderr += text;
    },
    stdoutIsFile,
    appendFile: (path, text) => captured.appended.push({ path, text }),
  };
  await runLogin(options(cli), io);
  return captured;
}

function githubEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    GITHUB_ACTIONS: 'true',
    ACTIONS_ID_TOKEN_REQUEST_URL: `${base}/github/token?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    ...extra,
  };
}

function everythingWritten(result: Captured): string {
  return result.stdout + result.stderr + result.appended.map((entry) => entry.text).join('');
}

const EXPECTED_ENV_LINES = [
  'PGHOST=airlock.example.com',
  'PGPORT=6432',
  'PGUSER=at_abcdefghijklmnopqrst',
  `PGPASSWORD=${PASSWORD}`,
  'PGDATABASE=shop',
  'PGSSLMODE=verify-full',
  'AIRLOCK_TOKEN_ID=at_abcdefghijklmnopqrst',
  'AIRLOCK_TOKEN_EXPIRES_AT=2030-01-01T12:20:00.000Z',
  'AIRLOCK_RUN_ID=9001.1',
].join('\n');

describe('airlock login --oidc github', () => {
  it('asks GitHub for a token for the audience with the runner bearer, exchanges it and prints env lines', async () => {
    const result = await login({ audience: 'airlock prod/eu' }, githubEnv());
    const [tokenRequest, exchange] = seen;
    expect(tokenRequest).toMatchObject({
      method: 'GET',
      url: '/github/token?api-version=2.0&audience=airlock%20prod%2Feu',
      authorization: `Bearer ${REQUEST_TOKEN}`,
    });
    expect(exchange).toMatchObject({ method: 'POST', url: '/v1/token/exchange' });
    expect(JSON.parse(exchange?.body ?? '')).toEqual({ token: GITHUB_JWT });
    expect(result.stdout).toBe(`${EXPECTED_ENV_LINES}\n`);
  });

  it('starts the query with ? when the request URL has none', async () => {
    await login({}, githubEnv({ ACTIONS_ID_TOKEN_REQUEST_URL: `${base}/github/token` }));
    expect(seen[0]?.url).toBe('/github/token?audience=airlock');
  });

  it('keeps a path prefix of --gateway', async () => {
    await login({ gateway: `${base}/gw` }, githubEnv());
    expect(seen[1]?.url).toBe('/gw/v1/token/exchange');
  });

  it('masks the password and URL on standard error before writing the env lines to a redirected stdout', async () => {
    const result = await login({}, githubEnv());
    const url = connectionInfo().url;
    expect(result.stderr.startsWith(`::add-mask::${PASSWORD}\n::add-mask::${url}\n`)).toBe(true);
    expect(result.stderr).toMatch(
      /^airlock: at_abcdefghijklmnopqrst for github:acme\/shop:CI as role reporting/m,
    );
    // Only env lines reach the file; the secret on stderr is only inside mask commands.
    expect(result.stdout).toBe(`${EXPECTED_ENV_LINES}\n`);
    for (const line of result.stderr.split('\n').filter((l) => l.includes(PASSWORD))) {
      expect(line.startsWith('::add-mask::')).toBe(true);
    }
    expect(everythingWritten(result)).not.toContain(GITHUB_JWT);
    expect(everythingWritten(result)).not.toContain(REQUEST_TOKEN);
  });

  it('with --github-env, masks on stdout first, appends the env lines to $GITHUB_ENV, and prints no secret otherwise', async () => {
    const result = await login(
      { githubEnv: true },
      githubEnv({ GITHUB_ENV: '/runner/_temp/set_env_1' }),
      false,
    );
    expect(result.appended).toEqual([{ path: '/runner/_temp/set_env_1', text: `${EXPECTED_ENV_LINES}\n` }]);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual([`::add-mask::${PASSWORD}`, `::add-mask::${connectionInfo().url}`]);
    expect(lines.slice(2).join('\n')).not.toContain(PASSWORD);
    expect(lines[2]).toContain('PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE');
    expect(result.stderr).toBe('');
    expect(everythingWritten(result)).not.toContain(GITHUB_JWT);
  });

  it('refuses to print env lines into the job log, before asking for any token', async () => {
    const attempt = login({}, githubEnv(), false);
    await expect(attempt).rejects.toThrow(LoginUsageError);
    await expect(attempt).rejects.toThrow(/--github-env, or redirect them with >> "\$GITHUB_ENV"/);
    expect(seen).toEqual([]);
  });

  it('says the job needs id-token: write when the request variables are missing', async () => {
    const attempt = login({}, { GITHUB_ACTIONS: 'true' });
    await expect(attempt).rejects.toThrow(LoginUsageError);
    await expect(attempt).rejects.toThrow(/permissions: id-token: write/);
  });

  it("reports GitHub's refusal without the request token", async () => {
    githubResponder = (_request, response) =>
      sendJson(response, 403, { message: `token ${REQUEST_TOKEN} may not request ID tokens` });
    const attempt = login({}, githubEnv());
    await expect(attempt).rejects.toThrow(/GitHub did not issue an ID token \(HTTP 403\)/);
    await expect(attempt).rejects.not.toThrow(REQUEST_TOKEN);
  });

  it('refuses a plain-http token endpoint that is not loopback', async () => {
    const env = githubEnv({ ACTIONS_ID_TOKEN_REQUEST_URL: 'http://tokens.example.com/x?api-version=2.0' });
    await expect(login({}, env)).rejects.toThrow(/ACTIONS_ID_TOKEN_REQUEST_URL: .*plain http/);
  });
});

describe('airlock login --oidc gitlab', () => {
  it('exchanges the id_tokens variable and writes env lines with no masks (GitLab has none)', async () => {
    const result = await login(
      { oidc: 'gitlab', idTokenEnv: 'DB_ID_TOKEN' },
      { GITLAB_CI: 'true', DB_ID_TOKEN: GITLAB_JWT },
    );
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ token: GITLAB_JWT });
    expect(result.stdout).toBe(`${EXPECTED_ENV_LINES}\n`);
    expect(result.stderr).not.toContain('::add-mask::');
    expect(everythingWritten(result)).not.toContain(GITLAB_JWT);
  });

  it('explains the id_tokens entry when the variable is missing', async () => {
    const attempt = login({ oidc: 'gitlab' }, { GITLAB_CI: 'true' });
    await expect(attempt).rejects.toThrow(LoginUsageError);
    await expect(attempt).rejects.toThrow('id_tokens: { AIRLOCK_ID_TOKEN: { aud: airlock } }');
  });

  it('explains an audience mismatch without showing the token', async () => {
    const token = fakeJwt({ iss: 'https://gitlab.com', aud: 'https://gitlab.com' });
    const attempt = login({ oidc: 'gitlab' }, { AIRLOCK_ID_TOKEN: token });
    await expect(attempt).rejects.toThrow(/is for audience "https:\/\/gitlab.com", not "airlock"/);
    await expect(attempt).rejects.not.toThrow(token);
    expect(seen).toEqual([]);
  });

  it('refuses env lines to the job log on GitLab too', async () => {
    await expect(
      login({ oidc: 'gitlab' }, { GITLAB_CI: 'true', AIRLOCK_ID_TOKEN: GITLAB_JWT }, false),
    ).rejects.toThrow(/GitLab cannot mask it/);
  });
});

describe('airlock login --format json', () => {
  it('prints the connection details with the chosen sslmode and the env object', async () => {
    const result = await login({ format: 'json' }, githubEnv(), false);
    const printed = JSON.parse(result.stdout);
    const info = connectionInfo();
    expect(printed).toMatchObject({
      ...info,
      psql: `psql "${info.url}?sslmode=verify-full"`,
      sslmode: 'verify-full',
    });
    expect(printed.env).toMatchObject({
      PGHOST: 'airlock.example.com',
      PGPASSWORD: PASSWORD,
      PGSSLMODE: 'verify-full',
    });
    expect(result.stderr).toContain(`::add-mask::${PASSWORD}`);
  });

  it('uses sslmode disable for a loopback gateway host, and --sslmode when given', async () => {
    gatewayResponder = (_request, response) => sendJson(response, 200, connectionInfo('127.0.0.1'));
    const loopback = JSON.parse((await login({ format: 'json' }, githubEnv())).stdout);
    expect(loopback.env.PGSSLMODE).toBe('disable');
    const chosen = JSON.parse((await login({ format: 'json', sslmode: 'require' }, githubEnv())).stdout);
    expect(chosen.env.PGSSLMODE).toBe('require');
  });
});

describe('airlock login: gateway answers', () => {
  it.each([
    [
      401,
      'ID token refused: audience "x" is not airlock',
      /HTTP 401\): ID token refused: audience "x" is not airlock/,
    ],
    [
      403,
      'no trust binding of https://token.actions.githubusercontent.com matches this token: ref',
      /HTTP 403\): no trust binding .* matches this token: ref — no trust binding/,
    ],
    [
      409,
      'this ID token was already exchanged',
      /HTTP 409\): this ID token was already exchanged — .*rerun the step/,
    ],
  ])('shows the gateway reason and status for %i', async (status, reason, message) => {
    gatewayResponder = (_request, response) => sendJson(response, status, { error: reason });
    const attempt = login({}, githubEnv());
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.not.toBeInstanceOf(LoginUsageError);
  });

  it('never shows the ID token, even when the gateway echoes it in one line of its reason', async () => {
    gatewayResponder = (request, response) =>
      sendJson(response, 401, { error: `rejected ${JSON.parse(request.body).token}\n::warning::x` });
    const error = await login({}, githubEnv()).catch((caught: Error) => caught);
    expect(String(error)).toContain('rejected [redacted] ::warning::x');
    expect(String(error)).not.toContain(GITHUB_JWT);
  });

  it('does not follow a redirect to another origin (the token would be resent)', async () => {
    let otherOriginHit = false;
    const other = createServer((_request, response) => {
      otherOriginHit = true;
      response.end();
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(other.address() as AddressInfo).port}/v1/token/exchange`;
    gatewayResponder = (_request, response) => response.writeHead(307, { location: target }).end();
    try {
      await expect(login({}, githubEnv())).rejects.toThrow(
        /HTTP 307, a redirect .* does not follow redirects/,
      );
      expect(otherOriginHit).toBe(false);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it('stops reading an answer larger than 64 KiB', async () => {
    gatewayResponder = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(`{"x":"${'a'.repeat(100 * 1024)}"}`);
    };
    await expect(login({}, githubEnv())).rejects.toThrow(/more than 64 KiB/);
    gatewayResponder = (_request, response) => {
      // Chunked, so only the running count can catch it.
      response.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 100; i += 1) response.write('a'.repeat(1024));
      response.end();
    };
    await expect(login({}, githubEnv())).rejects.toThrow(/more than 64 KiB/);
  });

  it('gives up at --timeout on a gateway that never answers, or never finishes its answer', async () => {
    gatewayResponder = () => {};
    await expect(login({ timeout: '300ms' }, githubEnv())).rejects.toThrow(
      /the gateway \(http:\/\/127\.0\.0\.1:\d+\) did not answer within 300ms/,
    );
    gatewayResponder = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"user": ');
    };
    await expect(login({ timeout: '300ms' }, githubEnv())).rejects.toThrow(/did not answer within 300ms/);
  });

  it('says when a 200 answer is not connection details', async () => {
    gatewayResponder = (_request, response) => sendJson(response, 200, { ok: true });
    await expect(login({}, githubEnv())).rejects.toThrow(/answered 200 but not with connection details/);
  });

  it('names the variable, not the value, when a value cannot be an env line', async () => {
    gatewayResponder = (_request, response) =>
      sendJson(response, 200, { ...connectionInfo(), database: 'shop; rm -rf /' });
    await expect(login({}, githubEnv())).rejects.toThrow(
      /a PGDATABASE value that cannot be written .* use --format json/,
    );
  });
});

describe('airlock login (the real CLI)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  function stubCi(env: Record<string, string>): void {
    for (const name of [
      'GITHUB_ACTIONS',
      'GITLAB_CI',
      'ACTIONS_ID_TOKEN_REQUEST_URL',
      'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
    ])
      vi.stubEnv(name, '');
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  }

  it('exits 2 for an http gateway that is not loopback, and for missing GitHub variables', async () => {
    stubCi({});
    const [http, missing] = await Promise.all([
      runAirlockCliAsync(['login', '--oidc', 'github', '--gateway', 'http://airlock.example.com']),
      runAirlockCliAsync(['login', '--oidc', 'github', '--gateway', 'https://airlock.example.com']),
    ]);
    expect(http.status).toBe(2);
    expect(http.stderr).toMatch(/plain http/);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/id-token: write/);
  });

  it('prints env lines and exits 0, or exits 1 with the reason of a refusal', async () => {
    stubCi({ AIRLOCK_ID_TOKEN: GITLAB_JWT });
    const ok = await runAirlockCliAsync(['login', '--oidc', 'gitlab', '--gateway', base]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(`${EXPECTED_ENV_LINES}\n`);
    expect(ok.stderr).not.toContain(GITLAB_JWT);

    gatewayResponder = (_request, response) =>
      sendJson(response, 403, { error: 'no trust binding matches this token: ref_protected "false"' });
    const refused = await runAirlockCliAsync(['login', '--oidc', 'gitlab', '--gateway', base]);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^airlock: the gateway refused the exchange \(HTTP 403\): no trust binding/,
    );
    expect(refused.stderr).not.toContain(GITLAB_JWT);
  });
});
