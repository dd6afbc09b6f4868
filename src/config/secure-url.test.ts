/** checkSecureUrl: https anywhere, http only to this machine, never credentials. */
import { describe, expect, it } from 'vitest';
import { checkSecureUrl } from './secure-url.js';

describe('checkSecureUrl', () => {
  it.each([
    ['https://idp.example.com/keys', true],
    ['http://127.0.0.1:8080/keys', true],
    ['http://localhost/x', true],
    ['http://[::1]:9/x', true],
  ])('accepts %s', (text, ok) => {
    expect(checkSecureUrl(text).ok).toBe(ok);
  });

  it.each([
    ['not a url', 'not-a-url'],
    ['https://user:pw@idp.example.com', 'credentials'],
    ['http://user@127.0.0.1/', 'credentials'],
    ['http://idp.example.com/keys', 'plain-http'],
    ['http://127.0.0.1.example.com/', 'plain-http'],
    ['ftp://idp.example.com/', 'other-scheme'],
    ['file:///etc/passwd', 'other-scheme'],
  ])('refuses %s (%s)', (text, problem) => {
    expect(checkSecureUrl(text)).toMatchObject({ ok: false, problem });
  });
});
