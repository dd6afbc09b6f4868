/** Reads PEM files named in the config (relative to the config file's directory), checking they hold what they claim. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** What a PEM file must contain. */
export type PemKind = 'certificate' | 'private key';

/** The file's PEM text, or why it cannot be used (never quoting its contents). */
export type PemReadResult =
  | { readonly ok: true; readonly pem: string }
  | { readonly ok: false; readonly problem: string; readonly fix: string };

/** Reads `path` (resolved against `baseDir`) and checks it holds a PEM `kind`. */
export function readPemFile(path: string, baseDir: string, kind: PemKind): PemReadResult {
  const absolute = resolve(baseDir, path);
  let pem: string;
  try {
    pem = readFileSync(absolute, 'utf8');
  } catch (error) {
    return { ok: false, ...describeReadError(absolute, baseDir, error) };
  }
  if (kind === 'certificate' && !pem.includes('-----BEGIN CERTIFICATE-----')) {
    return {
      ok: false,
      problem: `${absolute} holds no PEM certificate`,
      fix: 'point it to a PEM-encoded certificate file',
    };
  }
  if (kind === 'private key') {
    if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
      return {
        ok: false,
        problem: `${absolute} is an encrypted private key`,
        fix: 'encrypted keys are not supported; store it decrypted (openssl pkey) with file permissions 0600',
      };
    }
    if (!/-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(pem)) {
      return {
        ok: false,
        problem: `${absolute} holds no PEM private key`,
        fix: 'point it to a PEM-encoded private key',
      };
    }
  }
  return { ok: true, pem };
}

function describeReadError(
  absolute: string,
  baseDir: string,
  error: unknown,
): { problem: string; fix: string } {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return {
      problem: `file ${absolute} does not exist`,
      fix: `check the path (relative paths start at the config file's directory, ${baseDir})`,
    };
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return { problem: `file ${absolute} is not readable`, fix: 'let the gateway user read it' };
  }
  if (code === 'EISDIR')
    return { problem: `${absolute} is a directory`, fix: 'point it to the PEM file itself' };
  return {
    problem: `cannot read ${absolute} (${code ?? 'unknown error'})`,
    fix: 'check the path and permissions',
  };
}
