/** Signed checkpoints: an Ed25519 signature over a chain head, so the public key alone proves the chain. */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** What a checkpoint vouches for: the chain of `instance` up to `seq` ends in `headHash`. */
export interface CheckpointClaim {
  instance: string;
  seq: number;
  headHash: string;
  /** ISO 8601, gateway clock. */
  at: string;
}

/** A signed checkpoint as stored and exported. */
export interface AuditCheckpoint extends CheckpointClaim {
  /** First 16 hex characters of SHA-256 of the raw 32-byte public key. */
  keyId: string;
  /** Base64 Ed25519 signature over canonicalJson({ at, headHash, instance, seq }). */
  signature: string;
}

/** A new Ed25519 key pair as PEM (PKCS#8 private, SPKI public). */
export function generateAuditSigningKey(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** The key id of an Ed25519 public key (PEM), as written into checkpoints. */
export function auditKeyId(publicKeyPem: string): string {
  return keyIdOf(ed25519(createPublicKey(publicKeyPem), 'public'));
}

/** Signs the chain head; throws if the key is not Ed25519 or the claim is malformed. */
export function signCheckpoint(claim: CheckpointClaim, privateKeyPem: string): AuditCheckpoint {
  const { privateKey, keyId } = signingKeyOf(privateKeyPem);
  const payload = checkpointPayload(claim);
  return {
    instance: claim.instance,
    seq: claim.seq,
    headHash: claim.headHash,
    at: claim.at,
    keyId,
    signature: sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('base64'),
  };
}

/** The last key parsed: a gateway signs with one key, so its PEM is parsed once, not per checkpoint. */
let lastSigningKey: { readonly pem: string; readonly privateKey: KeyObject; readonly keyId: string } | null =
  null;

function signingKeyOf(privateKeyPem: string): { privateKey: KeyObject; keyId: string } {
  if (lastSigningKey?.pem !== privateKeyPem) {
    const privateKey = ed25519(createPrivateKey(privateKeyPem), 'private');
    lastSigningKey = { pem: privateKeyPem, privateKey, keyId: keyIdOf(createPublicKey(privateKey)) };
  }
  return lastSigningKey;
}

/**
 * True when `checkpoint` was signed by the private half of `publicKeyPem` and its keyId names
 * that key. A malformed checkpoint gives false; a public key that is not Ed25519 throws.
 */
export function verifyCheckpointSignature(checkpoint: AuditCheckpoint, publicKeyPem: string): boolean {
  const publicKey = ed25519(createPublicKey(publicKeyPem), 'public');
  if (typeof checkpoint !== 'object' || checkpoint === null) return false;
  if (checkpoint.keyId !== keyIdOf(publicKey) || typeof checkpoint.signature !== 'string') return false;
  let payload: string;
  try {
    payload = checkpointPayload(checkpoint);
  } catch {
    return false;
  }
  const signature = Buffer.from(checkpoint.signature, 'base64');
  // Buffer.from(…, 'base64') skips junk silently; insist the text was exactly this signature.
  if (signature.length !== 64 || signature.toString('base64') !== checkpoint.signature) return false;
  return verify(null, Buffer.from(payload, 'utf8'), publicKey, signature);
}

function checkpointPayload(claim: CheckpointClaim): string {
  const { instance, seq, headHash, at } = claim;
  if (typeof instance !== 'string' || instance === '')
    throw new TypeError('checkpoint: instance must be a non-empty string');
  if (!Number.isSafeInteger(seq) || seq < 1) throw new TypeError('checkpoint: seq must be an integer >= 1');
  if (typeof headHash !== 'string' || !/^[0-9a-f]{64}$/.test(headHash)) {
    throw new TypeError('checkpoint: headHash must be 64 lower-case hex characters');
  }
  if (typeof at !== 'string' || at === '') throw new TypeError('checkpoint: at must be an ISO 8601 string');
  return canonicalJson({ at, headHash, instance, seq });
}

function keyIdOf(publicKey: KeyObject): string {
  const { x } = publicKey.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new TypeError('audit key: not an Ed25519 public key');
  return createHash('sha256').update(Buffer.from(x, 'base64url')).digest('hex').slice(0, 16);
}

function ed25519(key: KeyObject, half: 'public' | 'private'): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(
      `audit key: expected an Ed25519 ${half} key, got ${key.asymmetricKeyType ?? 'unknown'}`,
    );
  }
  return key;
}
