/** Checkpoints: Ed25519 signatures over the chain head, key ids, and every way a checkpoint can lie. */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';
import {
  auditKeyId,
  generateAuditSigningKey,
  signCheckpoint,
  verifyCheckpointSignature,
} from './checkpoint.js';

const key = generateAuditSigningKey();
const claim = { instance: 'gw-1', seq: 10, headHash: 'a'.repeat(64), at: '2025-01-01T12:00:00.000Z' };

describe('checkpoints', () => {
  it('signs and verifies with the generated key pair', () => {
    const checkpoint = signCheckpoint(claim, key.privateKeyPem);
    expect(checkpoint).toMatchObject(claim);
    expect(key.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(verifyCheckpointSignature(checkpoint, key.publicKeyPem)).toBe(true);
  });

  it('names the key by the first 16 hex of sha256 of the raw public key', () => {
    const raw = createPublicKey(key.publicKeyPem).export({ format: 'der', type: 'spki' }).subarray(-32);
    const expected = createHash('sha256').update(raw).digest('hex').slice(0, 16);
    expect(auditKeyId(key.publicKeyPem)).toBe(expected);
    expect(signCheckpoint(claim, key.privateKeyPem).keyId).toBe(expected);
  });

  it('signs the canonical payload of at, headHash, instance and seq', async () => {
    const { verify } = await import('node:crypto');
    const checkpoint = signCheckpoint(claim, key.privateKeyPem);
    const payload = canonicalJson({ at: claim.at, headHash: claim.headHash, instance: 'gw-1', seq: 10 });
    expect(
      verify(null, Buffer.from(payload), key.publicKeyPem, Buffer.from(checkpoint.signature, 'base64')),
    ).toBe(true);
  });

  it.each([
    ['seq', { seq: 11 }],
    ['headHash', { headHash: 'b'.repeat(64) }],
    ['instance', { instance: 'gw-2' }],
    ['at', { at: '2025-01-01T12:00:01.000Z' }],
    ['keyId', { keyId: '0'.repeat(16) }],
    ['signature (padding junk)', { signature: 'AAAA' }],
  ])('rejects a checkpoint whose %s was changed', (_field, change) => {
    const checkpoint = { ...signCheckpoint(claim, key.privateKeyPem), ...change };
    expect(verifyCheckpointSignature(checkpoint, key.publicKeyPem)).toBe(false);
  });

  it('rejects a signature made with another key', () => {
    const other = generateAuditSigningKey();
    const forged = { ...signCheckpoint(claim, other.privateKeyPem), keyId: auditKeyId(key.publicKeyPem) };
    expect(verifyCheckpointSignature(forged, key.publicKeyPem)).toBe(false);
  });

  it('returns false for a malformed checkpoint instead of throwing', () => {
    const checkpoint = signCheckpoint(claim, key.privateKeyPem);
    expect(verifyCheckpointSignature({ ...checkpoint, seq: 1.5 }, key.publicKeyPem)).toBe(false);
    expect(verifyCheckpointSignature({ ...checkpoint, headHash: 'xyz' }, key.publicKeyPem)).toBe(false);
  });

  it('refuses keys that are not Ed25519 and malformed claims', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rsaPem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => signCheckpoint(claim, rsaPem)).toThrow(/Ed25519/);
    expect(() => signCheckpoint({ ...claim, seq: 0 }, key.privateKeyPem)).toThrow(/seq/);
    expect(() => signCheckpoint({ ...claim, headHash: 'A'.repeat(64) }, key.privateKeyPem)).toThrow(
      /headHash/,
    );
  });
});
