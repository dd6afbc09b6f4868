import { describe, expect, it } from 'vitest';
import { isValidHost, parseHostPort } from './host-port.js';

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:6432', '127.0.0.1', 6432],
    ['localhost:0', 'localhost', 0],
    ['db.internal:5432', 'db.internal', 5432],
    ['[::1]:6480', '::1', 6480],
    ['[::]:65535', '::', 65535],
  ])('reads %s', (text, host, port) => {
    expect(parseHostPort(text)).toEqual({ host, port });
  });

  it.each(['localhost', ':6432', '127.0.0.1:', '::1:6432', '[nothost]:1', 'a b:1', 'host:port', 'h:123456'])(
    'rejects %j',
    (text) => {
      expect(() => parseHostPort(text)).toThrow();
    },
  );

  it('rejects ports above 65535', () => {
    expect(() => parseHostPort('127.0.0.1:70000')).toThrow('port 70000 is out of range (0-65535)');
  });
});

describe('isValidHost', () => {
  it('accepts IP literals and DNS names, refuses junk', () => {
    expect(isValidHost('10.0.0.1')).toBe(true);
    expect(isValidHost('fe80::1')).toBe(true);
    expect(isValidHost('db-1.eu.internal')).toBe(true);
    expect(isValidHost('')).toBe(false);
    expect(isValidHost('-bad.example')).toBe(false);
    expect(isValidHost('with space')).toBe(false);
  });
});
