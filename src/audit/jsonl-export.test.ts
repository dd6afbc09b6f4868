/** JSONL export: line layout, round trip, and parse errors that name the line. */
import { describe, expect, it } from 'vitest';
import type { ChainedAuditEvent } from './audit-event.js';
import { type AuditCheckpoint, generateAuditSigningKey, signCheckpoint } from './checkpoint.js';
import { AuditChain } from './hash-chain.js';
import { AuditJsonlError, exportJsonl, MAX_JSONL_LINE_BYTES, parseJsonl } from './jsonl-export.js';

const key = generateAuditSigningKey();
const chain = new AuditChain('gw-1');
const events: ChainedAuditEvent[] = [];
const checkpoints: AuditCheckpoint[] = [];
for (let seq = 1; seq <= 5; seq++) {
  const event = chain.append({ kind: 'session.started', at: `2025-01-01T00:00:0${seq}Z`, what: { n: seq } });
  events.push(event);
  if (seq % 2 === 0) {
    checkpoints.push(
      signCheckpoint({ instance: 'gw-1', seq, headHash: event.hash, at: event.at }, key.privateKeyPem),
    );
  }
}
const input = { instance: 'gw-1', publicKeyPem: key.publicKeyPem, events, checkpoints };

function typesOf(text: string): string[] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => {
      const record = JSON.parse(line) as { type: string; seq?: number };
      return record.seq === undefined ? record.type : `${record.type}:${record.seq}`;
    });
}

describe('exportJsonl', () => {
  it('writes the header, then events with each checkpoint right after the event it covers', () => {
    const text = exportJsonl(input);
    expect(text.endsWith('\n')).toBe(true);
    expect(typesOf(text)).toEqual([
      'header',
      'event:1',
      'event:2',
      'checkpoint:2',
      'event:3',
      'event:4',
      'checkpoint:4',
      'event:5',
    ]);
    expect(JSON.parse(text.split('\n')[0]!)).toEqual({
      type: 'header',
      format: 'airlock-audit/1',
      instance: 'gw-1',
      publicKeyPem: key.publicKeyPem,
    });
  });

  it('puts the anchor checkpoint of a partial export before its first event', () => {
    const text = exportJsonl({ ...input, events: events.slice(2) });
    expect(typesOf(text)).toEqual([
      'header',
      'checkpoint:2',
      'event:3',
      'event:4',
      'checkpoint:4',
      'event:5',
    ]);
  });

  it('round-trips through parseJsonl', () => {
    const parsed = parseJsonl(exportJsonl(input));
    expect(parsed.header).toEqual({
      format: 'airlock-audit/1',
      instance: 'gw-1',
      publicKeyPem: key.publicKeyPem,
    });
    expect(parsed.events).toEqual(events);
    expect(parsed.checkpoints).toEqual(checkpoints);
  });

  it('accepts CRLF line endings', () => {
    const parsed = parseJsonl(exportJsonl(input).replaceAll('\n', '\r\n'));
    expect(parsed.events).toHaveLength(5);
  });
});

describe('parseJsonl errors', () => {
  const good = exportJsonl(input).trimEnd().split('\n');
  const header = good[0]!;
  const withLine = (line: string, at = 2): string =>
    [...good.slice(0, at - 1), line, ...good.slice(at - 1)].join('\n');

  it.each([
    ['not JSON', withLine('{oops'), /^line 2: not a JSON object/],
    ['a JSON array', withLine('[1]'), /^line 2: not a JSON object/],
    ['an empty line', withLine(''), /^line 2: empty line/],
    ['an unknown type', withLine('{"type":"note"}'), /^line 2: unknown line type "note"/],
    [
      'an event without seq',
      withLine(
        '{"type":"event","instance":"gw-1","prevHash":"a","hash":"b","kind":"session.started","at":"t"}',
      ),
      /^line 2: "seq" must be an integer >= 1/,
    ],
    [
      'an event with a string hash missing',
      withLine('{"type":"event","seq":1,"instance":"gw-1","prevHash":"a","kind":"session.started","at":"t"}'),
      /^line 2: "hash" must be a string/,
    ],
    [
      'a checkpoint without signature',
      withLine('{"type":"checkpoint","seq":2,"instance":"gw-1","headHash":"a","at":"t","keyId":"k"}'),
      /^line 2: "signature" must be a string/,
    ],
    ['no header', good.slice(1).join('\n'), /^line 1: the first line must be the header/],
    [
      'an unknown format',
      header.replace('airlock-audit/1', 'airlock-audit/9'),
      /^line 1: unsupported format "airlock-audit\/9"/,
    ],
    ['a second header', withLine(header, 4), /^line 4: unknown line type "header"/],
    ['empty input', '', /^line 1: empty line/],
  ])('refuses %s, naming the line', (_label, text, message) => {
    expect(() => parseJsonl(text)).toThrow(AuditJsonlError);
    expect(() => parseJsonl(text)).toThrow(message);
  });

  it('refuses a line longer than 1 MiB before parsing it', () => {
    const huge = withLine(`{"type":"note","x":"${'a'.repeat(MAX_JSONL_LINE_BYTES)}"}`, 3);
    expect(() => parseJsonl(huge)).toThrow(/^line 3: line longer than 1048576 bytes/);
    // Multi-byte characters count as bytes, not UTF-16 units.
    const wide = withLine(`{"type":"note","x":"${'é'.repeat(MAX_JSONL_LINE_BYTES / 2)}"}`, 3);
    expect(() => parseJsonl(wide)).toThrow(/^line 3: line longer/);
  });

  it('parses a tampered but well-formed file, leaving the judgement to verify', () => {
    const text = exportJsonl(input).replace('"n":3', '"n":4');
    expect(parseJsonl(text).events[2]!.what).toEqual({ n: 4 });
  });
});
