/** `airlock login` options: where secrets may be sent, and which mistakes are caught before any request. */
import { describe, expect, it } from 'vitest';
import { exchangeUrlOf, type LoginCliOptions, LoginUsageError, resolveLoginPlan } from './login-options.js';

const valid: LoginCliOptions = {
  oidc: 'github',
  gateway: 'https://airlock.example.com',
  audience: 'airlock',
  format: 'env',
  idTokenEnv: 'AIRLOCK_ID_TOKEN',
  timeout: '20s',
};

describe('exchangeUrlOf', () => {
  it.each([
    ['https://airlock.example.com', 'https://airlock.example.com/v1/token/exchange'],
    ['https://airlock.example.com/', 'https://airlock.example.com/v1/token/exchange'],
    ['https://example.com/airlock', 'https://example.com/airlock/v1/token/exchange'],
    ['https://airlock.example.com:8443', 'https://airlock.example.com:8443/v1/token/exchange'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080/v1/token/exchange'],
    ['http://localhost:8080', 'http://localhost:8080/v1/token/exchange'],
    ['http://[::1]:8080', 'http://[::1]:8080/v1/token/exchange'],
  ])('%s → %s', (gateway, expected) => {
    expect(exchangeUrlOf(gateway).href).toBe(expected);
  });

  it.each([
    ['http://airlock.example.com', /plain http/],
    ['http://10.0.0.5:8080', /plain http/],
    ['ftp://airlock.example.com', /ftp: URLs are not supported/],
    ['airlock.example.com', /is not a URL/],
    ['https://user:pw@airlock.example.com', /must not contain a user name or password/],
    ['https://airlock.example.com/?x=1', /without \?query/],
  ])('refuses %s', (gateway, message) => {
    expect(() => exchangeUrlOf(gateway)).toThrow(LoginUsageError);
    expect(() => exchangeUrlOf(gateway)).toThrow(message);
  });
});

describe('resolveLoginPlan', () => {
  it('resolves the defaults', () => {
    expect(resolveLoginPlan(valid)).toMatchObject({
      provider: 'github',
      audience: 'airlock',
      format: 'env',
      sslmode: null,
      timeoutMs: 20_000,
      githubEnv: false,
    });
  });

  it.each([
    [{ oidc: 'jenkins' }, /--oidc: "jenkins" is not a supported CI platform; use github or gitlab/],
    [{ format: 'yaml' }, /--format: "yaml" is not a format; use env or json/],
    [
      { sslmode: 'on' },
      /--sslmode: "on" is not one of disable, allow, prefer, require, verify-ca, verify-full/,
    ],
    [{ timeout: 'soon' }, /--timeout: "soon" is not a duration/],
    [{ timeout: '0s' }, /--timeout: 0s is out of range/],
    [{ timeout: '1h' }, /--timeout: 1h is out of range/],
    [{ idTokenEnv: 'NOT-A-NAME' }, /--id-token-env: "NOT-A-NAME" is not an environment variable name/],
    [{ audience: ' ' }, /--audience must not be empty/],
    [{ format: 'json', githubEnv: true }, /--github-env writes env lines/],
  ])('refuses %o', (overrides, message) => {
    expect(() => resolveLoginPlan({ ...valid, ...overrides })).toThrow(LoginUsageError);
    expect(() => resolveLoginPlan({ ...valid, ...overrides })).toThrow(message);
  });
});
