import { describe, expect, it } from 'vitest';
import { issuerUrlProblem, keyUrlProblem } from './issuer-url.js';

describe('issuerUrlProblem', () => {
  it('accepts https anywhere and http on loopback only', () => {
    expect(issuerUrlProblem('https://token.actions.githubusercontent.com')).toBeNull();
    expect(issuerUrlProblem('https://gitlab.example.com/.well-known/jwks')).toBeNull();
    expect(issuerUrlProblem('http://127.0.0.1:8080')).toBeNull();
    expect(issuerUrlProblem('http://[::1]:8080/keys')).toBeNull();
    expect(issuerUrlProblem('http://localhost:3000')).toBeNull();
    expect(issuerUrlProblem('http://gitlab.example.com')).toMatch(/not an https URL/);
    expect(issuerUrlProblem('ftp://example.com')).toMatch(/not an https URL/);
  });

  it('refuses what is not a plain issuer URL', () => {
    expect(issuerUrlProblem('token.actions.githubusercontent.com')).toBe('is not a URL');
    expect(issuerUrlProblem('https://user:pw@example.com')).toMatch(/user name or password/);
    expect(issuerUrlProblem('https://example.com/?tenant=1')).toMatch(/query or fragment/);
    expect(issuerUrlProblem('https://example.com/#x')).toMatch(/query or fragment/);
  });

  it('lets key URLs carry a query', () => {
    expect(keyUrlProblem('https://idp.example.com/keys?tenant=1')).toBeNull();
    expect(keyUrlProblem('http://idp.example.com/keys')).toMatch(/not an https URL/);
    expect(keyUrlProblem('https://user:pw@idp.example.com/keys')).toMatch(/user name or password/);
  });
});
