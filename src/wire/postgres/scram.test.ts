/** SCRAM-SHA-256 against the RFC 7677 vector, round trips, failures that must look alike, and md5. */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createScramVerifier,
  md5PasswordResponse,
  ScramClientSession,
  ScramProtocolError,
  ScramServerSession,
  verifyPasswordWithVerifier,
} from './scram.js';

const RFC_SERVER_FIRST =
  'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';

const text = (b: Buffer): string => b.toString('utf8');
const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

function exchange(password: string, verifier: ReturnType<typeof createScramVerifier> | null) {
  const client = new ScramClientSession(password);
  const server = new ScramServerSession(verifier);
  const serverFirst = server.handleClientFirst(client.clientFirst());
  const result = server.handleClientFinal(client.handleServerFirst(serverFirst));
  return { client, serverFirst, result };
}

describe('ScramClientSession (RFC 7677 section 3 test vector)', () => {
  it('produces the published proof and accepts the published server signature', () => {
    const client = new ScramClientSession('pencil', { username: 'user', nonce: 'rOprNGfwEbeRWgbNEkqO' });
    expect(text(client.clientFirst())).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const final = text(client.handleServerFirst(buf(RFC_SERVER_FIRST)));
    expect(final).toBe(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    expect(() =>
      client.verifyServerFinal(buf('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')),
    ).not.toThrow();
  });

  it('rejects a server signature that does not match', () => {
    const client = new ScramClientSession('pencil', { username: 'user', nonce: 'rOprNGfwEbeRWgbNEkqO' });
    client.clientFirst();
    client.handleServerFirst(buf(RFC_SERVER_FIRST));
    expect(() => client.verifyServerFinal(buf('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='))).toThrow(
      ScramProtocolError,
    );
  });

  it('surfaces a server-reported error', () => {
    const client = new ScramClientSession('pencil', { nonce: 'abc' });
    client.clientFirst();
    client.handleServerFirst(buf('r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1'));
    expect(() => client.verifyServerFinal(buf('e=invalid-proof'))).toThrow(/invalid-proof/);
  });

  it('sends an empty username by default, as libpq does', () => {
    expect(text(new ScramClientSession('x', { nonce: 'abc' }).clientFirst())).toBe('n,,n=,r=abc');
  });

  it.each([
    ['a nonce that does not extend ours', 'r=zzz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'],
    ['the bare client nonce', 'r=abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'],
    ['zero iterations', 'r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0'],
    ['too many iterations', 'r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000001'],
    ['a non-numeric iteration count', 'r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4k'],
    ['an empty salt', 'r=abcdef,s=,i=4096'],
    ['a non-base64 salt', 'r=abcdef,s=not*base64,i=4096'],
    ['attributes out of order', 's=W22ZaJ0SNY7soEsUEjb6gQ==,r=abcdef,i=4096'],
    ['a mandatory extension', 'm=x,r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'],
  ])('rejects a server-first-message with %s', (_what, serverFirst) => {
    const client = new ScramClientSession('pencil', { nonce: 'abc' });
    client.clientFirst();
    expect(() => client.handleServerFirst(buf(serverFirst))).toThrow(ScramProtocolError);
  });
});

describe('createScramVerifier', () => {
  it('derives the RFC 7677 keys from the published salt', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const verifier = createScramVerifier('pencil', { salt, iterations: 4096 });
    expect(verifier.iterations).toBe(4096);
    expect(verifier.salt).toBe('W22ZaJ0SNY7soEsUEjb6gQ==');
    // StoredKey and ServerKey are 32-byte SHA-256 values.
    expect(Buffer.from(verifier.storedKey, 'base64')).toHaveLength(32);
    expect(Buffer.from(verifier.serverKey, 'base64')).toHaveLength(32);
  });

  it('uses 4096 iterations and a fresh 16-byte salt by default', () => {
    const a = createScramVerifier('secret');
    const b = createScramVerifier('secret');
    expect(a.iterations).toBe(4096);
    expect(Buffer.from(a.salt, 'base64')).toHaveLength(16);
    expect(a.salt).not.toBe(b.salt);
    expect(a.storedKey).not.toBe(b.storedKey);
  });

  it('normalises non-ASCII passwords with NFKC so equivalent spellings match', () => {
    const salt = Buffer.alloc(16, 7);
    const composed = createScramVerifier('caf\u00e9', { salt, iterations: 1 });
    const decomposed = createScramVerifier('cafe\u0301', { salt, iterations: 1 });
    expect(composed.storedKey).toBe(decomposed.storedKey);
  });

  it('maps non-ASCII spaces to a space and drops soft hyphens, as SASLprep does', () => {
    const salt = Buffer.alloc(16, 7);
    const plain = createScramVerifier('caf\u00e9 au lait', { salt, iterations: 1 });
    expect(createScramVerifier('caf\u00e9\u00a0au lait', { salt, iterations: 1 }).storedKey).toBe(
      plain.storedKey,
    );
    expect(createScramVerifier('caf\u00e9 au\u00ad lait', { salt, iterations: 1 }).storedKey).toBe(
      plain.storedKey,
    );
  });

  it('uses a password with prohibited characters as it is, as PostgreSQL does', () => {
    const salt = Buffer.alloc(16, 7);
    // U+E000 is private use: SASLprep fails, so the raw string (not its NFKC form) is hashed.
    const raw = createScramVerifier('\ufb01\ue000', { salt, iterations: 1 });
    expect(raw.storedKey).not.toBe(createScramVerifier('fi\ue000', { salt, iterations: 1 }).storedKey);
  });

  it('leaves ASCII passwords untouched, control characters included', () => {
    const salt = Buffer.alloc(16, 7);
    expect(createScramVerifier('a\tb', { salt, iterations: 1 }).storedKey).not.toBe(
      createScramVerifier('a b', { salt, iterations: 1 }).storedKey,
    );
  });
});

describe('verifyPasswordWithVerifier', () => {
  it('accepts the password the verifier was made from and nothing else', () => {
    const verifier = createScramVerifier('correct horse', { iterations: 16 });
    expect(verifyPasswordWithVerifier('correct horse', verifier)).toBe(true);
    expect(verifyPasswordWithVerifier('correct horse ', verifier)).toBe(false);
    expect(verifyPasswordWithVerifier('', verifier)).toBe(false);
  });
});

describe('ScramServerSession', () => {
  it('completes a round trip with the right password', () => {
    const verifier = createScramVerifier('correct horse', { iterations: 4096 });
    const { client, result } = exchange('correct horse', verifier);
    expect(result.ok).toBe(true);
    if (result.ok) expect(() => client.verifyServerFinal(result.serverFinal)).not.toThrow();
  });

  it('fails the proof with a wrong password', () => {
    const verifier = createScramVerifier('correct horse', { iterations: 16 });
    expect(exchange('battery staple', verifier).result).toEqual({ ok: false });
  });

  it('runs a well-formed mock exchange for an unknown user and fails only at the end', () => {
    const { serverFirst, result } = exchange('anything', null);
    expect(text(serverFirst)).toMatch(/^r=[\x21-\x2b\x2d-\x7e]+,s=[A-Za-z0-9+/]{22}==,i=4096$/);
    expect(result).toEqual({ ok: false });
  });

  it('gives an unknown user the same salt each time, and different unknown users different salts', () => {
    const saltOf = (seed: string): string => {
      const server = new ScramServerSession(null, { mockSeed: seed, mockIterations: 8192 });
      const first = text(server.handleClientFirst(buf('n,,n=,r=abc')));
      expect(first).toMatch(/,i=8192$/);
      return first.split(',')[1] ?? '';
    };
    expect(saltOf('at_one')).toBe(saltOf('at_one'));
    expect(saltOf('at_one')).not.toBe(saltOf('at_two'));
  });

  it("accepts libpq's 'y,,' header (sent over TLS when -PLUS is not offered) when c= repeats it", () => {
    // Computed by hand from RFC 5802 section 3 with c=base64('y,,') = 'eSws'.
    const verifier = createScramVerifier('pw', { iterations: 16 });
    const server = new ScramServerSession(verifier);
    const serverFirst = text(server.handleClientFirst(buf('y,,n=,r=abc')));
    const nonce = serverFirst.split(',')[0]?.slice(2) ?? '';
    const withoutProof = `c=eSws,r=${nonce}`;
    const authMessage = `n=,r=abc,${serverFirst},${withoutProof}`;
    const storedKey = Buffer.from(verifier.storedKey, 'base64');
    const salted = pbkdf2Sync('pw', Buffer.from(verifier.salt, 'base64'), 16, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const signature = createHmac('sha256', storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0))).toString('base64');
    expect(server.handleClientFinal(buf(`${withoutProof},p=${proof}`)).ok).toBe(true);
  });

  it('accepts any username in client-first, including an empty one', () => {
    const verifier = createScramVerifier('pw', { iterations: 16 });
    for (const first of ['n,,n=,r=abc', 'n,,n=someone,r=abc', 'y,,n=,r=abc']) {
      expect(() => new ScramServerSession(verifier).handleClientFirst(buf(first))).not.toThrow();
    }
  });

  it.each([
    ['an invalid gs2 flag', 'x,,n=,r=abc'],
    ['a missing gs2 separator', 'n,n=,r=abc'],
    ['channel binding (p=)', 'p=tls-server-end-point,,n=,r=abc'],
    ['an authorization identity', 'n,a=admin,n=,r=abc'],
    ['the reserved m= extension', 'n,,m=ext,n=,r=abc'],
    ['no n=', 'n,,r=abc'],
    ['no r=', 'n,,n='],
    ['an empty nonce', 'n,,n=,r='],
    ['a non-printable nonce', 'n,,n=,r=ab\u0001c'],
    ['a non-ASCII nonce', 'n,,n=,r=ab\u00e9c'],
    ['an empty message', ''],
    ['a message over 1 KiB', `n,,n=,r=${'a'.repeat(1100)}`],
  ])('rejects a client-first-message with %s', (_what, message) => {
    expect(() => new ScramServerSession(null).handleClientFirst(buf(message))).toThrow(ScramProtocolError);
  });

  it('rejects invalid UTF-8 in client-first', () => {
    const bad = Buffer.concat([buf('n,,n='), Buffer.from([0xff, 0xfe]), buf(',r=abc')]);
    expect(() => new ScramServerSession(null).handleClientFirst(bad)).toThrow(ScramProtocolError);
  });

  describe('client-final-message checks', () => {
    const verifier = createScramVerifier('pw', { iterations: 16 });
    const started = (): { server: ScramServerSession; nonce: string } => {
      const server = new ScramServerSession(verifier);
      const first = text(server.handleClientFirst(buf('n,,n=,r=abc')));
      return { server, nonce: first.split(',')[0]?.slice(2) ?? '' };
    };
    const proof = Buffer.alloc(32).toString('base64');

    it.each([
      ['channel binding data other than n,,', (n: string) => `c=eSws,r=${n},p=${proof}`],
      ['a nonce other than the combined one', () => `c=biws,r=abc,p=${proof}`],
      ['no proof', (n: string) => `c=biws,r=${n}`],
      ['a proof of the wrong length', (n: string) => `c=biws,r=${n},p=AAAA`],
      ['a non-base64 proof', (n: string) => `c=biws,r=${n},p=!!!!`],
      ['attributes out of order', (n: string) => `r=${n},c=biws,p=${proof}`],
    ])('throws on %s', (_what, build) => {
      const { server, nonce } = started();
      expect(() => server.handleClientFinal(buf(build(nonce)))).toThrow(ScramProtocolError);
    });

    it('returns ok: false for a well-formed but wrong proof', () => {
      const { server, nonce } = started();
      expect(server.handleClientFinal(buf(`c=biws,r=${nonce},p=${proof}`))).toEqual({ ok: false });
    });

    it('refuses messages out of order', () => {
      const server = new ScramServerSession(verifier);
      expect(() => server.handleClientFinal(buf(`c=biws,r=abc,p=${proof}`))).toThrow(ScramProtocolError);
      server.handleClientFirst(buf('n,,n=,r=abc'));
      expect(() => server.handleClientFirst(buf('n,,n=,r=abc'))).toThrow(ScramProtocolError);
    });
  });
});

describe('md5PasswordResponse', () => {
  it("computes 'md5' + md5(md5(password + user) + salt) in hex", () => {
    const salt = Buffer.from([0x01, 0x02, 0x03, 0x04]);
    const inner = createHash('md5').update('secretalice').digest('hex');
    const expected = `md5${createHash('md5').update(inner).update(salt).digest('hex')}`;
    expect(md5PasswordResponse('alice', 'secret', salt)).toBe(expected);
  });

  it('is md5 followed by 32 lowercase hex digits', () => {
    expect(md5PasswordResponse('u', 'p', Buffer.alloc(4))).toMatch(/^md5[0-9a-f]{32}$/);
  });
});
