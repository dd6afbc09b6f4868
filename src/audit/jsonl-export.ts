/** JSONL export of a trail (header, events, checkpoints) that a third party can verify offline. */
import type { ChainedAuditEvent } from './audit-event.js';
import { canonicalJson } from './canonical-json.js';
import type { AuditCheckpoint } from './checkpoint.js';

/** The format tag of the first line. */
export const AUDIT_JSONL_FORMAT = 'airlock-audit/1';
/** Longest accepted line, in UTF-8 bytes. */
export const MAX_JSONL_LINE_BYTES = 1024 * 1024;

/** First line of an export: which instance, and the key that verifies its checkpoints. */
export interface AuditJsonlHeader {
  format: typeof AUDIT_JSONL_FORMAT;
  instance: string;
  publicKeyPem: string;
}

/** Thrown for malformed input; the message starts with the 1-based line number. */
export class AuditJsonlError extends Error {
  override readonly name = 'AuditJsonlError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/**
 * Writes one canonical JSON object per line: the header, then the events in the order given
 * (the store gives seq order), each checkpoint right after the event it covers. Checkpoints
 * that cover no exported event go before the first event when their seq is lower (the anchor
 * of a partial export) and at the end otherwise. Ends with a newline.
 */
export function exportJsonl(input: {
  instance: string;
  publicKeyPem: string;
  events: readonly ChainedAuditEvent[];
  checkpoints: readonly AuditCheckpoint[];
}): string {
  const pending = [...input.checkpoints].sort((a, b) => a.seq - b.seq);
  const taken = new Set<AuditCheckpoint>();
  const checkpointLine = (c: AuditCheckpoint): string => {
    taken.add(c);
    return canonicalJson({ ...c, type: 'checkpoint' });
  };
  const header = canonicalJson({
    type: 'header',
    format: AUDIT_JSONL_FORMAT,
    instance: input.instance,
    publicKeyPem: input.publicKeyPem,
  });
  const firstSeq = input.events[0]?.seq ?? Number.POSITIVE_INFINITY;
  const lines = [header, ...pending.filter((c) => c.seq < firstSeq).map(checkpointLine)];
  for (const event of input.events) {
    lines.push(canonicalJson({ ...event, type: 'event' }));
    for (const c of pending) {
      if (!taken.has(c) && c.seq === event.seq && c.instance === event.instance)
        lines.push(checkpointLine(c));
    }
  }
  for (const c of pending) if (!taken.has(c)) lines.push(checkpointLine(c));
  return `${lines.join('\n')}\n`;
}

/**
 * Reads an export. Checks structure only (line types, field types, line size); whether the
 * content is intact is verifyAuditTrail's job, so a tampered but well-formed file parses.
 */
export function parseJsonl(text: string): {
  header: AuditJsonlHeader;
  events: ChainedAuditEvent[];
  checkpoints: AuditCheckpoint[];
} {
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  let header: AuditJsonlHeader | undefined;
  const events: ChainedAuditEvent[] = [];
  const checkpoints: AuditCheckpoint[] = [];
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length > MAX_JSONL_LINE_BYTES || Buffer.byteLength(line, 'utf8') > MAX_JSONL_LINE_BYTES) {
      throw new AuditJsonlError(lineNo, `line longer than ${MAX_JSONL_LINE_BYTES} bytes`);
    }
    if (line.trim() === '') throw new AuditJsonlError(lineNo, 'empty line');
    let record: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not an object');
      record = parsed as Record<string, unknown>;
    } catch (error) {
      throw new AuditJsonlError(lineNo, `not a JSON object (${(error as Error).message})`);
    }
    const { type, ...fields } = record;
    if (lineNo === 1) {
      if (type !== 'header')
        throw new AuditJsonlError(lineNo, 'the first line must be the header ({"type":"header",…})');
      if (fields.format !== AUDIT_JSONL_FORMAT) {
        throw new AuditJsonlError(
          lineNo,
          `unsupported format ${JSON.stringify(fields.format)}, expected "${AUDIT_JSONL_FORMAT}"`,
        );
      }
      requireStrings(lineNo, fields, ['instance', 'publicKeyPem']);
      header = {
        format: AUDIT_JSONL_FORMAT,
        instance: fields.instance as string,
        publicKeyPem: fields.publicKeyPem as string,
      };
      return;
    }
    if (type === 'event') {
      requireStrings(lineNo, fields, ['instance', 'prevHash', 'hash', 'kind', 'at']);
      requireSeq(lineNo, fields);
      events.push(fields as unknown as ChainedAuditEvent);
    } else if (type === 'checkpoint') {
      requireStrings(lineNo, fields, ['instance', 'headHash', 'at', 'keyId', 'signature']);
      requireSeq(lineNo, fields);
      checkpoints.push(fields as unknown as AuditCheckpoint);
    } else {
      throw new AuditJsonlError(
        lineNo,
        `unknown line type ${JSON.stringify(type)} (expected "event" or "checkpoint")`,
      );
    }
  });
  if (header === undefined) throw new AuditJsonlError(1, 'empty export: no header');
  return { header, events, checkpoints };
}

function requireStrings(lineNo: number, fields: Record<string, unknown>, names: readonly string[]): void {
  for (const name of names) {
    if (typeof fields[name] !== 'string') throw new AuditJsonlError(lineNo, `"${name}" must be a string`);
  }
}

function requireSeq(lineNo: number, fields: Record<string, unknown>): void {
  const seq = fields.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    throw new AuditJsonlError(lineNo, '"seq" must be an integer >= 1');
  }
}
