/** The per-instance hash chain: sequence numbers, previous-event hashes and event hashes (pure). */
import crypto from 'node:crypto';
import {
  type AuditEventBody,
  type AuditEventKind,
  type ChainedAuditEvent,
  isAuditEventKind,
  type UnhashedAuditEvent,
} from './audit-event.js';
import { canonicalJson } from './canonical-json.js';

const HEX_SHA256 = /^[0-9a-f]{64}$/;
// ISO 8601 date-time with a zone, as Date.prototype.toISOString and most clocks write it.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const BODY_FIELDS = new Set(['kind', 'at', 'who', 'why', 'where', 'what']);

/** Node's one-shot digest (20.12+; no Hash object per call), when this Node has it. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

function sha256Hex(text: string): string {
  if (oneShotHash !== undefined) return oneShotHash('sha256', text, 'hex');
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The prevHash of seq 1: SHA-256 of `airlock-audit-genesis:<instance>`, so chains of two instances never link. */
export function genesisHash(instance: string): string {
  return sha256Hex(`airlock-audit-genesis:${instance}`);
}

/** Hex SHA-256 of the canonical form of every field except `hash` (ignored if present). */
export function eventHash(event: UnhashedAuditEvent): string {
  const { hash: _ignored, ...rest } = event as UnhashedAuditEvent & { hash?: unknown };
  return sha256Hex(canonicalJson(rest));
}

/** True for a lower-case hex SHA-256. */
export function isHexSha256(value: unknown): value is string {
  return typeof value === 'string' && HEX_SHA256.test(value);
}

/** A body already validated and in canonical form: how AuditLog hands events to a committer. */
export interface EncodedAuditBody {
  readonly at: string;
  readonly kind: AuditEventKind;
  /** canonicalJson of the body. */
  readonly json: string;
}

/** A chained event in canonical form (`json` is canonicalJson of the whole ChainedAuditEvent): what the store keeps. */
export interface EncodedAuditEvent {
  readonly instance: string;
  readonly seq: number;
  readonly at: string;
  readonly hash: string;
  readonly json: string;
}

/** Checks `body` as AuditChain.append does and returns its canonical form. */
export function encodeAuditBody(body: AuditEventBody): EncodedAuditBody {
  checkBody(body);
  return { at: body.at, kind: body.kind, json: canonicalJson(body) };
}

/** The last event appended: its seq (0 before the first) and hash (the genesis hash before the first). */
export interface AuditChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Appends events to the chain of one gateway instance. Pure and deterministic: the same
 * head and body always give the same event. Durability is the caller's job; a caller that
 * fails to store an event must not keep using this chain (rebuild it from the stored head).
 */
export class AuditChain {
  readonly instance: string;
  readonly #quotedInstance: string;
  #seq: number;
  #hash: string;

  constructor(instance: string, head?: AuditChainHead) {
    if (typeof instance !== 'string' || instance === '') {
      throw new TypeError('audit chain: instance must be a non-empty string');
    }
    this.instance = instance;
    this.#quotedInstance = JSON.stringify(instance);
    if (head === undefined) {
      this.#seq = 0;
      this.#hash = genesisHash(instance);
      return;
    }
    if (!Number.isSafeInteger(head.seq) || head.seq < 0) {
      throw new TypeError(`audit chain: head seq must be an integer >= 0, got ${String(head.seq)}`);
    }
    if (!isHexSha256(head.hash)) {
      throw new TypeError('audit chain: head hash must be 64 lower-case hex characters');
    }
    if (head.seq === 0 && head.hash !== genesisHash(instance)) {
      throw new TypeError('audit chain: an empty chain must start at the genesis hash of its instance');
    }
    this.#seq = head.seq;
    this.#hash = head.hash;
  }

  /** The last appended event's seq and hash. */
  get head(): AuditChainHead {
    return { seq: this.#seq, hash: this.#hash };
  }

  /** Validates `body`, links it to the head and returns the frozen chained event (a deep copy). */
  append(body: AuditEventBody): ChainedAuditEvent {
    const copy = validateBody(body);
    const unhashed: UnhashedAuditEvent = {
      instance: this.instance,
      seq: this.#seq + 1,
      ...copy,
      prevHash: this.#hash,
    };
    const event: ChainedAuditEvent = { ...unhashed, hash: eventHash(unhashed) };
    this.#seq = event.seq;
    this.#hash = event.hash;
    return deepFreeze(event);
  }

  /**
   * Same as append, on a body already in canonical form, without parsing it: the chain fields are
   * spliced in where canonical key order puts them (at < hash < instance < kind < prevHash < seq <
   * what, where, who, why), so the text is exactly canonicalJson of the event append would return.
   */
  appendEncoded(body: EncodedAuditBody): EncodedAuditEvent {
    const head = `{"at":${JSON.stringify(body.at)}`;
    const kind = `"kind":${JSON.stringify(body.kind)}`;
    if (!body.json.startsWith(`${head},${kind}`)) {
      throw new TypeError('audit event: encoded body does not start with its at and kind');
    }
    const rest = body.json.slice(head.length + 1 + kind.length);
    const seq = this.#seq + 1;
    const links = `"instance":${this.#quotedInstance},${kind},"prevHash":"${this.#hash}","seq":${seq}${rest}`;
    const hash = sha256Hex(`${head},${links}`);
    this.#seq = seq;
    this.#hash = hash;
    return { instance: this.instance, seq, at: body.at, hash, json: `${head},"hash":"${hash}",${links}` };
  }
}

/** Checks the body and returns a deep copy of it, so later changes by the caller cannot alter a hashed event. */
function validateBody(body: AuditEventBody): AuditEventBody {
  checkBody(body);
  // canonicalJson rejects floats, undefined, class instances …; parsing it back is the deep copy.
  return JSON.parse(canonicalJson(body)) as AuditEventBody;
}

/** The checks canonicalJson does not make: known fields and kind, an ISO 8601 `at`, object parts. */
function checkBody(body: AuditEventBody): void {
  if (typeof body !== 'object' || body === null) throw new TypeError('audit event: body must be an object');
  for (const key of Object.keys(body)) {
    if (!BODY_FIELDS.has(key)) throw new TypeError(`audit event: unknown field "${key}"`);
  }
  if (!isAuditEventKind(body.kind)) throw new TypeError(`audit event: unknown kind ${String(body.kind)}`);
  if (typeof body.at !== 'string' || !ISO_8601.test(body.at) || Number.isNaN(Date.parse(body.at))) {
    throw new TypeError(`audit event: "at" must be an ISO 8601 date-time, got ${String(body.at)}`);
  }
  for (const key of ['who', 'why', 'where', 'what'] as const) {
    const part: unknown = body[key];
    if (part !== undefined && (typeof part !== 'object' || part === null || Array.isArray(part))) {
      throw new TypeError(`audit event: "${key}" must be an object`);
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
