import { describe, expect, it } from 'vitest';
import { findJwts, hasJoseHeader } from './jwt.js';

const header = btoa(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).replace(/=+$/, '');
const payload = btoa(JSON.stringify({ sub: 'user-1', iat: 1700000000 })).replace(/=+$/, '');
const token = `${header}.${payload}.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U`;
const found = (text: string) => findJwts(text).map((span) => text.slice(span.start, span.end));

describe('findJwts', () => {
  it('finds signed, unsigned and encrypted compact tokens', () => {
    expect(found(`Authorization: Bearer ${token}`)).toEqual([token]);
    expect(found(`t=${token}; Path=/`)).toEqual([token]);
    expect(found(`${header}.${payload}. end`)).toEqual([`${header}.${payload}.`]);
    const jwe = `${btoa('{"alg":"RSA-OAEP","enc":"A256GCM"}').replace(/=+$/, '')}.a-b.c_d.e.f`;
    expect(found(jwe)).toEqual([jwe]);
  });

  it('needs a JOSE header with an alg', () => {
    const noAlg = btoa('{"typ":"JWT"}').replace(/=+$/, '');
    expect(found(`${noAlg}.${payload}.sig`)).toEqual([]);
    expect(found(`${header}`)).toEqual([]);
    expect(found(`x${token}`)).toEqual([]);
    expect(hasJoseHeader('eyJub3QganNvbg')).toBe(false);
    expect(hasJoseHeader('eyJ!!!')).toBe(false);
  });
});
