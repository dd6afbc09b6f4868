/** Reads a JWKS file named in `trust[].keys.jwks_file` (air-gapped installs), refusing anything but public signing keys. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';

/** The file's key set, or why it cannot be used (never quoting key material). */
export type JwksFileResult =
  | { readonly ok: true; readonly path: string; readonly jwks: JSONWebKeySet }
  | { readonly ok: false; readonly problem: string; readonly fix: string };

/** A JWKS of a few keys is a few KiB; anything this large is the wrong file. */
const MAX_JWKS_FILE_BYTES = 1024 * 1024;
const PUBLIC_KEY_TYPES = ['RSA', 'EC', 'OKP'];
// Members that only a private (or symmetric) JWK carries (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const FIX =
  "save the issuer's published JWKS (its jwks_uri, e.g. curl <issuer>/.well-known/jwks) into the file";

/** Reads `path` (resolved against `baseDir`) and checks it is a JWKS of public signing keys. */
export function readJwksFile(path: string, baseDir: string): JwksFileResult {
  const absolute = resolve(baseDir, path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return {
        ok: false,
        problem: `file ${absolute} does not exist`,
        fix: `check the path (relative paths start at the config file's directory, ${baseDir})`,
      };
    }
    return {
      ok: false,
      problem: `cannot read ${absolute} (${code ?? 'unknown error'})`,
      fix: 'check the path and permissions',
    };
  }
  if (text.length > MAX_JWKS_FILE_BYTES) {
    return { ok: false, problem: `${absolute} is larger than 1 MiB`, fix: FIX };
  }
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch {
    return { ok: false, problem: `${absolute} is not JSON`, fix: FIX };
  }
  const keys = typeof jwks === 'object' && jwks !== null ? (jwks as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0) {
    return { ok: false, problem: `${absolute} is not a JWKS (no "keys" list, or an empty one)`, fix: FIX };
  }
  for (const [index, key] of keys.entries()) {
    const problem = publicKeyProblem(key);
    if (problem !== null) {
      const isPrivate = problem.startsWith('is a private');
      return {
        ok: false,
        problem: `${absolute}: keys[${index}] ${problem}`,
        fix: isPrivate
          ? 'anyone who can read this file can sign ID tokens: keep the private key with the issuer and put only the public JWKS here'
          : FIX,
      };
    }
  }
  try {
    // jose's own shape check, so the verifier cannot fail later on what was accepted here.
    createLocalJWKSet(jwks as JSONWebKeySet);
  } catch {
    return { ok: false, problem: `${absolute} is not a valid JWKS`, fix: FIX };
  }
  return { ok: true, path: absolute, jwks: jwks as JSONWebKeySet };
}

function publicKeyProblem(key: unknown): string | null {
  if (typeof key !== 'object' || key === null || Array.isArray(key)) return 'is not a JWK (a mapping)';
  const jwk = key as Record<string, unknown>;
  const privateMember = PRIVATE_MEMBERS.find((member) => Object.hasOwn(jwk, member));
  if (privateMember !== undefined)
    return `is a private or symmetric key (it has a "${privateMember}" member)`;
  if (typeof jwk.kty !== 'string' || !PUBLIC_KEY_TYPES.includes(jwk.kty)) {
    return `has no usable "kty" (expected ${PUBLIC_KEY_TYPES.join(', ')})`;
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return 'is not a signing key ("use" is not "sig")';
  return null;
}
