import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  auditKeyId,
  generateAuditSigningKey,
  signCheckpoint,
  verifyCheckpointSignature,
} from './checkpoint.js';
import { AuditKeyError, auditPublicKeyPath, loadOrCreateAuditSigningKey } from './signing-key.js';

const root = mkdtempSync(join(tmpdir(), 'airlock-audit-key-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(root, `case-${++n}`, 'keys', 'airlock-audit.key');

describe('loadOrCreateAuditSigningKey', () => {
  it('creates a private key file (0600) and its .pub on first use, then reuses them', () => {
    const path = freshPath();
    const first = loadOrCreateAuditSigningKey(path);
    expect(first.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(auditPublicKeyPath(path), 'utf8')).toBe(first.publicKeyPem);
    const second = loadOrCreateAuditSigningKey(path);
    expect(second.created).toBe(false);
    expect(second.privateKeyPem).toBe(first.privateKeyPem);
    expect(auditKeyId(second.publicKeyPem)).toBe(auditKeyId(first.publicKeyPem));
  });

  it('gives a key pair whose checkpoints verify with the .pub file', () => {
    const path = freshPath();
    const key = loadOrCreateAuditSigningKey(path);
    const checkpoint = signCheckpoint(
      { instance: 'gw', seq: 1, headHash: 'a'.repeat(64), at: '2024-01-01T00:00:00.000Z' },
      key.privateKeyPem,
    );
    expect(verifyCheckpointSignature(checkpoint, readFileSync(`${path}.pub`, 'utf8'))).toBe(true);
  });

  it.each([0o640, 0o604, 0o644])('refuses a key file with mode 0%s, naming chmod 600', (mode) => {
    const path = freshPath();
    loadOrCreateAuditSigningKey(path);
    chmodSync(path, mode);
    expect(() => loadOrCreateAuditSigningKey(path)).toThrow(AuditKeyError);
    expect(() => loadOrCreateAuditSigningKey(path)).toThrow(`chmod 600 ${path}`);
  });

  it('accepts an existing key with mode 0400', () => {
    const path = freshPath();
    const created = loadOrCreateAuditSigningKey(path);
    chmodSync(path, 0o400);
    expect(loadOrCreateAuditSigningKey(path).publicKeyPem).toBe(created.publicKeyPem);
  });

  it('refuses a file that holds no Ed25519 key', () => {
    const path = freshPath();
    loadOrCreateAuditSigningKey(path);
    writeFileSync(path, 'not a key\n', { mode: 0o600 });
    expect(() => loadOrCreateAuditSigningKey(path)).toThrow(/holds no Ed25519 private key/);
  });

  it('restores a missing .pub from the private key', () => {
    const path = freshPath();
    const { privateKeyPem, publicKeyPem } = generateAuditSigningKey();
    loadOrCreateAuditSigningKey(path);
    writeFileSync(path, privateKeyPem, { mode: 0o600 });
    rmSync(auditPublicKeyPath(path));
    expect(loadOrCreateAuditSigningKey(path).created).toBe(false);
    expect(readFileSync(auditPublicKeyPath(path), 'utf8')).toBe(publicKeyPem);
  });
});
