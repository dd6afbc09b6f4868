/** SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL speaks it, server and client side, plus legacy md5. */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What the server keeps instead of a password (base64 fields). Structurally identical to
 * `ScramVerifier` in src/store/store.ts; repeated here so wire/ imports nothing from the project.
 */
export interface ScramVerifier {
  readonly iterations: number;
  readonly salt: string;
  readonly storedKey: string;
  readonly serverKey: string;
}

/** Malformed or out-of-order SCRAM message (maps to a protocol violation, not to a wrong password). */
export class ScramProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScramProtocolError';
  }
}

/** SASL mechanism name PostgreSQL advertises in AuthenticationSASL. */
export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

const DEFAULT_ITERATIONS = 4096;
const SALT_BYTES = 16;
/** PostgreSQL uses 18 raw bytes (SCRAM_RAW_NONCE_LEN) for its nonce part. */
const NONCE_BYTES = 18;
const KEY_BYTES = 32;
/** Real SCRAM messages are a few hundred bytes; anything larger is refused before parsing. */
const MAX_MESSAGE_BYTES = 1024;
const MAX_CLIENT_ITERATIONS = 10_000_000;

/** Per-process secret for the mock salts of unknown users: stable within a process, unguessable. */
const MOCK_KEY = randomBytes(32);

/** Builds the verifier stored for a password (PBKDF2-HMAC-SHA-256, RFC 5802 section 3). */
export function createScramVerifier(
  password: string,
  options?: { iterations?: number; salt?: Buffer },
): ScramVerifier {
  const iterations = options?.iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new RangeError(`SCRAM iterations must be a positive integer, got ${iterations}`);
  }
  const salt = options?.salt ?? randomBytes(SALT_BYTES);
  const keys = deriveKeys(password, salt, iterations);
  return {
    iterations,
    salt: salt.toString('base64'),
    storedKey: keys.storedKey.toString('base64'),
    serverKey: keys.serverKey.toString('base64'),
  };
}

/**
 * Checks a cleartext password (AuthenticationCleartextPassword, only over TLS or loopback) against a
 * stored verifier, as PostgreSQL does for password auth on SCRAM roles. Runs PBKDF2 synchronously.
 */
export function verifyPasswordWithVerifier(password: string, verifier: ScramVerifier): boolean {
  const salt = Buffer.from(verifier.salt, 'base64');
  const expected = Buffer.from(verifier.storedKey, 'base64');
  const { storedKey } = deriveKeys(password, salt, verifier.iterations);
  return storedKey.length === expected.length && timingSafeEqual(storedKey, expected);
}

/**
 * Server half of one SCRAM-SHA-256 exchange. Pass `null` for an unknown user: the exchange then
 * runs against a mock verifier (salt derived from `mockSeed`, stable per process) and fails only
 * at the final step, so probing cannot tell unknown users from wrong passwords.
 */
export class ScramServerSession {
  readonly #verifier: ScramVerifier;
  readonly #isMock: boolean;
  #state: 'initial' | 'first-sent' | 'done' = 'initial';
  #gs2Header = '';
  #clientFirstBare = '';
  #serverFirst = '';
  #combinedNonce = '';

  constructor(verifier: ScramVerifier | null, options?: { mockSeed?: string; mockIterations?: number }) {
    this.#isMock = verifier === null;
    this.#verifier = verifier ?? mockVerifier(options?.mockSeed ?? '', options?.mockIterations);
  }

  /** Consumes client-first-message (SASLInitialResponse data); returns server-first-message. */
  handleClientFirst(message: Buffer): Buffer {
    if (this.#state !== 'initial') throw new ScramProtocolError('unexpected SCRAM client-first-message');
    const text = decodeMessage(message, 'client-first-message');
    const { gs2Header, bare } = splitGs2Header(text);
    const attrs = bare.split(',');
    if (attrs[0]?.startsWith('m=')) throw new ScramProtocolError('SCRAM extension m= is not supported');
    // PostgreSQL ignores the SCRAM username (the startup packet names the user), so any n= passes.
    if (!attrs[0]?.startsWith('n=')) throw new ScramProtocolError('SCRAM client-first-message lacks n=');
    const nonceAttr = attrs[1];
    if (nonceAttr === undefined || !nonceAttr.startsWith('r=')) {
      throw new ScramProtocolError('SCRAM client-first-message lacks r=');
    }
    const clientNonce = nonceAttr.slice(2);
    if (!isPrintableNonce(clientNonce))
      throw new ScramProtocolError('SCRAM client nonce is empty or not printable');
    checkExtensions(attrs.slice(2));
    this.#gs2Header = gs2Header;
    this.#clientFirstBare = bare;
    this.#combinedNonce = clientNonce + randomBytes(NONCE_BYTES).toString('base64');
    this.#serverFirst = `r=${this.#combinedNonce},s=${this.#verifier.salt},i=${this.#verifier.iterations}`;
    this.#state = 'first-sent';
    return Buffer.from(this.#serverFirst, 'utf8');
  }

  /** Consumes client-final-message (SASLResponse data); returns server-final-message on success. */
  handleClientFinal(message: Buffer): { ok: true; serverFinal: Buffer } | { ok: false } {
    if (this.#state !== 'first-sent') throw new ScramProtocolError('unexpected SCRAM client-final-message');
    this.#state = 'done';
    const text = decodeMessage(message, 'client-final-message');
    const attrs = text.split(',');
    const binding = attrs[0];
    const nonce = attrs[1];
    const proofAttr = attrs[attrs.length - 1];
    if (attrs.length < 3 || binding === undefined || nonce === undefined || proofAttr === undefined) {
      throw new ScramProtocolError('SCRAM client-final-message must be c=…,r=…,p=…');
    }
    if (!binding.startsWith('c=') || !nonce.startsWith('r=') || !proofAttr.startsWith('p=')) {
      throw new ScramProtocolError('SCRAM client-final-message must be c=…,r=…,p=…');
    }
    checkExtensions(attrs.slice(2, -1));
    // Without channel binding, c= repeats the gs2 header the client sent ("n,," → "biws").
    if (binding.slice(2) !== Buffer.from(this.#gs2Header, 'utf8').toString('base64')) {
      throw new ScramProtocolError('SCRAM channel binding data does not match the gs2 header');
    }
    if (nonce.slice(2) !== this.#combinedNonce) throw new ScramProtocolError('SCRAM nonce mismatch');
    const proof = decodeBase64Strict(proofAttr.slice(2));
    if (proof === null || proof.length !== KEY_BYTES)
      throw new ScramProtocolError('SCRAM proof is not valid');

    const withoutProof = text.slice(0, text.length - proofAttr.length - 1);
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const storedKey = Buffer.from(this.#verifier.storedKey, 'base64');
    const clientKey = xor(proof, hmac(storedKey, authMessage));
    const computed = sha256(clientKey);
    const matches = computed.length === storedKey.length && timingSafeEqual(computed, storedKey);
    if (!matches || this.#isMock) return { ok: false };
    const serverSignature = hmac(Buffer.from(this.#verifier.serverKey, 'base64'), authMessage);
    return { ok: true, serverFinal: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8') };
  }
}

/** Client half of one SCRAM-SHA-256 exchange (the gateway authenticating to an upstream). */
export class ScramClientSession {
  readonly #password: string;
  readonly #nonce: string;
  readonly #username: string;
  #state: 'initial' | 'first-sent' | 'final-sent' | 'done' = 'initial';
  #clientFirstBare = '';
  #expectedServerSignature: Buffer | null = null;

  /** `nonce` and `username` exist for test vectors; PostgreSQL clients send an empty username. */
  constructor(password: string, options?: { nonce?: string; username?: string }) {
    this.#password = password;
    this.#nonce = options?.nonce ?? randomBytes(NONCE_BYTES).toString('base64');
    this.#username = options?.username ?? '';
    if (!isPrintableNonce(this.#nonce))
      throw new RangeError('SCRAM client nonce must be printable ASCII without commas');
  }

  /** client-first-message: `n,,n=,r=<nonce>`. */
  clientFirst(): Buffer {
    if (this.#state !== 'initial') throw new ScramProtocolError('SCRAM client-first-message already sent');
    this.#clientFirstBare = `n=${escapeSaslName(this.#username)},r=${this.#nonce}`;
    this.#state = 'first-sent';
    return Buffer.from(`n,,${this.#clientFirstBare}`, 'utf8');
  }

  /** Consumes server-first-message; returns client-final-message carrying the proof. */
  handleServerFirst(message: Buffer): Buffer {
    if (this.#state !== 'first-sent') throw new ScramProtocolError('unexpected SCRAM server-first-message');
    this.#state = 'final-sent';
    const serverFirst = decodeMessage(message, 'server-first-message');
    const attrs = serverFirst.split(',');
    if (attrs[0]?.startsWith('m=')) throw new ScramProtocolError('SCRAM extension m= is not supported');
    const [nonceAttr, saltAttr, iterAttr] = attrs;
    if (!nonceAttr?.startsWith('r=') || !saltAttr?.startsWith('s=') || !iterAttr?.startsWith('i=')) {
      throw new ScramProtocolError('SCRAM server-first-message must be r=…,s=…,i=…');
    }
    checkExtensions(attrs.slice(3));
    const combinedNonce = nonceAttr.slice(2);
    if (
      !combinedNonce.startsWith(this.#nonce) ||
      combinedNonce.length <= this.#nonce.length ||
      !isPrintableNonce(combinedNonce)
    ) {
      throw new ScramProtocolError('SCRAM server nonce does not extend the client nonce');
    }
    const salt = decodeBase64Strict(saltAttr.slice(2));
    if (salt === null || salt.length === 0) throw new ScramProtocolError('SCRAM salt is not valid base64');
    const iterText = iterAttr.slice(2);
    const iterations = /^[0-9]{1,8}$/.test(iterText) ? Number(iterText) : Number.NaN;
    if (!(iterations >= 1 && iterations <= MAX_CLIENT_ITERATIONS)) {
      throw new ScramProtocolError(`SCRAM iteration count out of range (1..${MAX_CLIENT_ITERATIONS})`);
    }

    const keys = deriveKeys(this.#password, salt, iterations);
    const withoutProof = `c=${Buffer.from('n,,', 'utf8').toString('base64')},r=${combinedNonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(keys.clientKey, hmac(keys.storedKey, authMessage));
    this.#expectedServerSignature = hmac(keys.serverKey, authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Checks server-final-message; throws if the server reports an error or cannot prove it knows the key. */
  verifyServerFinal(message: Buffer): void {
    const expected = this.#expectedServerSignature;
    if (this.#state !== 'final-sent' || expected === null) {
      throw new ScramProtocolError('unexpected SCRAM server-final-message');
    }
    this.#state = 'done';
    const text = decodeMessage(message, 'server-final-message');
    const first = text.split(',')[0] ?? '';
    if (first.startsWith('e='))
      throw new ScramProtocolError(`SCRAM server reported an error: ${first.slice(2)}`);
    if (!first.startsWith('v=')) throw new ScramProtocolError('SCRAM server-final-message lacks v=');
    const signature = decodeBase64Strict(first.slice(2));
    if (signature === null || signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new ScramProtocolError(
        'SCRAM server signature does not match: the server does not know the password',
      );
    }
  }
}

/**
 * Response to AuthenticationMD5Password: 'md5' + md5hex(md5hex(password + user) + salt).
 * https://www.postgresql.org/docs/15/protocol-flow.html#id-1.10.6.7.3
 */
export function md5PasswordResponse(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password, 'utf8').update(user, 'utf8').digest('hex');
  const outer = createHash('md5').update(inner, 'utf8').update(salt).digest('hex');
  return `md5${outer}`;
}

interface DerivedKeys {
  readonly clientKey: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

function deriveKeys(password: string, salt: Buffer, iterations: number): DerivedKeys {
  const salted = pbkdf2Sync(Buffer.from(saslPrep(password), 'utf8'), salt, iterations, KEY_BYTES, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}

function mockVerifier(seed: string, iterations = DEFAULT_ITERATIONS): ScramVerifier {
  const salt = createHmac('sha256', MOCK_KEY).update(`salt\0${seed}`).digest().subarray(0, SALT_BYTES);
  return {
    iterations,
    salt: salt.toString('base64'),
    // Random keys: no proof can match, and the work done equals the real path.
    storedKey: randomBytes(KEY_BYTES).toString('base64'),
    serverKey: randomBytes(KEY_BYTES).toString('base64'),
  };
}

/**
 * SASLprep (RFC 4013) as PostgreSQL applies it (src/common/saslprep.c), simplified: ASCII input is
 * returned unchanged (as PostgreSQL does); otherwise non-ASCII spaces map to ' ', "commonly mapped
 * to nothing" characters are dropped, and the result is NFKC-normalised. Where PostgreSQL would
 * find a prohibited character it uses the raw password, and so do we for the prohibited ranges
 * below. Not checked: unassigned code points (Unicode 3.2 table A.1) and the bidi rule, which are
 * rare in passwords; the gateway's own token secrets are always ASCII.
 */
function saslPrep(password: string): string {
  if (isAscii(password)) return password;
  let mapped = '';
  for (const ch of password) {
    const cp = ch.codePointAt(0) ?? 0;
    if (inRanges(cp, NON_ASCII_SPACE)) mapped += ' ';
    else if (!inRanges(cp, MAPPED_TO_NOTHING)) mapped += ch;
  }
  const normalized = mapped.normalize('NFKC');
  for (const ch of normalized) if (inRanges(ch.codePointAt(0) ?? 0, PROHIBITED)) return password;
  return normalized;
}

type CodePointRanges = readonly (readonly [number, number])[];

/** RFC 3454 table C.1.2. */
const NON_ASCII_SPACE: CodePointRanges = [
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200b],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];
/** RFC 3454 table B.1. */
const MAPPED_TO_NOTHING: CodePointRanges = [
  [0xad, 0xad],
  [0x34f, 0x34f],
  [0x1806, 0x1806],
  [0x180b, 0x180d],
  [0x200b, 0x200d],
  [0x2060, 0x2060],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
];
/** RFC 3454 tables C.2.1-C.9 (controls, private use, non-characters, surrogates, bidi and tagging). */
const PROHIBITED: CodePointRanges = [
  [0x0, 0x1f],
  [0x7f, 0x9f],
  [0x340, 0x341],
  [0x6dd, 0x6dd],
  [0x70f, 0x70f],
  [0x180e, 0x180e],
  [0x200c, 0x200f],
  [0x2028, 0x202e],
  [0x2060, 0x2063],
  [0x206a, 0x206f],
  [0x2ff0, 0x2ffb],
  [0xd800, 0xdfff],
  [0xe000, 0xf8ff],
  [0xfdd0, 0xfdef],
  [0xfeff, 0xfeff],
  [0xfff9, 0xffff],
  [0x1d173, 0x1d17a],
  [0x1fffe, 0x1ffff],
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f],
  [0xf0000, 0x10ffff],
];

function inRanges(cp: number, ranges: CodePointRanges): boolean {
  return ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function splitGs2Header(text: string): { gs2Header: string; bare: string } {
  const flag = text[0];
  // 'y' = the client could bind but believes we cannot; fine, since we never offer -PLUS.
  if (flag === 'p') throw new ScramProtocolError('SCRAM channel binding was requested but is not offered');
  if ((flag !== 'n' && flag !== 'y') || text[1] !== ',') {
    throw new ScramProtocolError('SCRAM client-first-message has an invalid gs2 header');
  }
  // PostgreSQL, too, refuses an authorization identity (a=…): the startup packet names the user.
  if (text[2] !== ',') throw new ScramProtocolError('SCRAM authorization identity is not supported');
  return { gs2Header: text.slice(0, 3), bare: text.slice(3) };
}

function checkExtensions(attrs: readonly string[]): void {
  for (const attr of attrs) {
    if (!/^[A-Za-z]=/.test(attr)) throw new ScramProtocolError('SCRAM message has a malformed attribute');
  }
}

function decodeMessage(message: Buffer, what: string): string {
  if (message.length === 0) throw new ScramProtocolError(`SCRAM ${what} is empty`);
  if (message.length > MAX_MESSAGE_BYTES) {
    throw new ScramProtocolError(`SCRAM ${what} exceeds ${MAX_MESSAGE_BYTES} bytes`);
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(message);
    if (text.includes('\0')) throw new ScramProtocolError(`SCRAM ${what} contains a NUL byte`);
    return text;
  } catch (error) {
    if (error instanceof ScramProtocolError) throw error;
    throw new ScramProtocolError(`SCRAM ${what} is not valid UTF-8`);
  }
}

/** printable = %x21-2B / %x2D-7E (RFC 5802 section 7): visible ASCII except ','. */
function isPrintableNonce(nonce: string): boolean {
  return /^[\x21-\x2b\x2d-\x7e]+$/.test(nonce);
}

function decodeBase64Strict(text: string): Buffer | null {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

function escapeSaslName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}
