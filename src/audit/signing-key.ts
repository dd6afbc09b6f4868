/** The audit signing key on disk: created private (0600) on first use, refused when others can read it. */

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateAuditSigningKey } from './checkpoint.js';

/** The key pair as PEM; `created` is true when this call generated it. */
export interface AuditSigningKey {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
  readonly created: boolean;
}

/** The key file cannot be used; the message names the file and how to fix it. */
export class AuditKeyError extends Error {
  override readonly name = 'AuditKeyError';
}

/** Where the public half of the key at `privateKeyPath` is written (and read by `airlock audit verify`). */
export function auditPublicKeyPath(privateKeyPath: string): string {
  return `${privateKeyPath}.pub`;
}

/**
 * Reads the Ed25519 key at `path`, or creates it (mode 0600, parent directory 0700) together with
 * `<path>.pub` when it does not exist. Like ssh, refuses a key file that group or others may read.
 * `.pub` is rewritten from the private key when missing.
 */
export function loadOrCreateAuditSigningKey(path: string): AuditSigningKey {
  const created = createIfMissing(path);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new AuditKeyError(
      `cannot read the audit signing key ${path} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'}); let the gateway user read it`,
    );
  }
  let privateKeyPem: string;
  try {
    const mode = fstatSync(fd).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new AuditKeyError(
        `the audit signing key ${path} is readable by others (mode 0${mode.toString(8)}); run chmod 600 ${path}`,
      );
    }
    privateKeyPem = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  let publicKeyPem: string;
  try {
    const privateKey = createPrivateKey(privateKeyPem);
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${privateKey.asymmetricKeyType} key`);
    publicKeyPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
  } catch (error) {
    throw new AuditKeyError(
      `${path} holds no Ed25519 private key (${(error as Error).message}); point audit.signing_key at another path to have a new key created`,
    );
  }
  const publicPath = auditPublicKeyPath(path);
  try {
    // 'wx' leaves an existing .pub alone; a missing one is restored from the private key.
    writeFileSync(publicPath, publicKeyPem, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return { privateKeyPem, publicKeyPem, created };
}

/** Creates the key file if absent; false when it already existed (or another process created it first). */
function createIfMissing(path: string): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new AuditKeyError(
      `cannot create the audit signing key ${path} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'}); check the directory's permissions`,
    );
  }
  try {
    writeFileSync(fd, generateAuditSigningKey().privateKeyPem);
  } finally {
    closeSync(fd);
  }
  return true;
}
