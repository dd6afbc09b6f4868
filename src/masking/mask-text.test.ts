import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { harmlessText } from '../../test/masking/sensitive-arbitraries.js';
import { findSensitive } from './detect-sensitive.js';
import { maskText, REDACTED, scrubText } from './mask-text.js';
import { isContent } from './partial-mask.js';
import { SENSITIVE_CLASSES, type SensitiveClass } from './sensitive-class.js';

const ALL: ReadonlySet<SensitiveClass> = new Set(SENSITIVE_CLASSES);
const KEY = new TextEncoder().encode('test-hash-key-0123456789abcdef!!');
const partial = (value: string, cls?: SensitiveClass) => maskText(value, 'partial', cls, undefined);

describe('maskText', () => {
  it('redacts', () => {
    expect(maskText('jane@example.com', 'redact', 'email', undefined)).toBe(REDACTED);
  });

  it('partial keeps an email domain, the last four digits, an IBAN country, an IP last group', () => {
    expect(partial('jane.doe@example.com', 'email')).toBe('****@example.com');
    expect(partial('123-45-6789', 'ssn')).toBe('***-**-6789');
    expect(partial('4111 1111 1111 1111', 'credit_card')).toBe('**** **** **** 1111');
    expect(partial('+1 (415) 555-2671', 'phone')).toBe('+* (***) ***-2671');
    expect(partial('GB82 WEST 1234 5698 7654 32', 'iban')).toBe('GB** **** **** **** **54 32');
    expect(partial('192.168.10.42', 'ip_address')).toBe('***.***.***.42');
    expect(partial('2001:db8::1', 'ip_address')).toBe('****:****::1');
    expect(partial('::ffff:192.0.2.1', 'ip_address')).toBe('::****:***.***.***.1');
  });

  it('partial redacts tokens and keys', () => {
    expect(partial('AKIAIOSFODNN7EXAMPLE', 'api_key')).toBe(REDACTED);
    expect(partial('eyJhbGciOiJub25lIn0.eyJ9.', 'jwt')).toBe(REDACTED);
  });

  it('partial of an unknown value keeps the last four of eight or more letters and digits, else none', () => {
    expect(partial('Jane Marie Doe')).toBe('**** ****e Doe');
    expect(partial('Jane')).toBe('****');
    expect(partial('A-12')).toBe('*-**');
  });

  it('hash is `hash:` and 20 hex characters, deterministic and dependent on key and value', () => {
    const otherKey = new TextEncoder().encode('another-key');
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const hashed = maskText(a, 'hash', undefined, KEY);
        expect(hashed).toMatch(/^hash:[0-9a-f]{20}$/);
        expect(maskText(a, 'hash', 'email', KEY)).toBe(hashed);
        expect(maskText(a, 'hash', undefined, otherKey)).not.toBe(hashed);
        if (a !== b) expect(maskText(b, 'hash', undefined, KEY)).not.toBe(hashed);
      }),
    );
  });

  it('hash without a key is a clear error', () => {
    expect(() => maskText('x', 'hash', undefined, undefined)).toThrow(/hash key/);
    expect(() => maskText('x', 'hash', undefined, new Uint8Array())).toThrow(/hash key/);
  });

  it('partial never reveals more than four characters besides an email domain or IBAN country', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 60 }),
        fc.option(fc.constantFrom(...SENSITIVE_CLASSES)),
        (value, cls) => {
          const masked = partial(value, cls ?? undefined);
          let shown = masked;
          if (masked === REDACTED || (cls === 'email' && masked.startsWith('****@'))) shown = '';
          else if (cls === 'iban' && /^[A-Za-z]{2}/.test(value)) shown = masked.slice(2);
          const revealed = Array.from(shown).filter(isContent).length;
          expect(revealed).toBeLessThanOrEqual(4);
        },
      ),
    );
  });
});

describe('scrubText', () => {
  it('masks each item inside a text by its class', () => {
    const text = 'Mail jane@example.com or call 415-555-0123; card 4111-1111-1111-1111.';
    expect(scrubText(text, ALL, 'partial', undefined)).toBe(
      'Mail ****@example.com or call ***-***-0123; card ****-****-****-1111.',
    );
    expect(scrubText(text, ALL, 'redact', undefined)).toBe(
      `Mail ${REDACTED} or call ${REDACTED}; card ${REDACTED}.`,
    );
    expect(scrubText(text, ALL, 'null', undefined)).toBe(scrubText(text, ALL, 'redact', undefined));
    expect(scrubText(text, new Set(['email']), 'redact', undefined)).toBe(
      `Mail ${REDACTED} or call 415-555-0123; card 4111-1111-1111-1111.`,
    );
  });

  it('hashes items the same way maskText does', () => {
    expect(scrubText('to jane@example.com.', ALL, 'hash', KEY)).toBe(
      `to ${maskText('jane@example.com', 'hash', 'email', KEY)}.`,
    );
    expect(() => scrubText('to jane@example.com', ALL, 'hash', undefined)).toThrow(/hash key/);
  });

  it('returns the very same string when nothing matched', () => {
    fc.assert(
      fc.property(
        fc.oneof(harmlessText, fc.string()),
        fc.constantFrom('redact', 'partial', 'null'),
        (text, strategy) => {
          if (findSensitive(text, ALL).length === 0)
            expect(scrubText(text, ALL, strategy, undefined)).toBe(text);
        },
      ),
    );
    const text = 'nothing here';
    expect(Object.is(scrubText(text, ALL, 'redact', undefined), text)).toBe(true);
  });

  it('leaves none of the matched values in its output', () => {
    const value = fc.constantFrom(
      'jane.doe@example.com',
      '+44 20 7946 0958',
      '123-45-6789',
      '4111 1111 1111 1111',
      'GB82 WEST 1234 5698 7654 32',
      '203.0.113.77',
      'AKIAIOSFODNN7EXAMPLE',
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(harmlessText, value), { maxLength: 5 }),
        fc.constantFrom('redact', 'partial', 'null', 'hash'),
        (parts, strategy) => {
          const text = parts.map(([words, v]) => `${words} ${v} `).join('');
          const matched = findSensitive(text, ALL).map((m) => text.slice(m.start, m.end));
          const scrubbed = scrubText(text, ALL, strategy, KEY);
          for (const found of matched) expect(scrubbed).not.toContain(found);
        },
      ),
    );
  });
});
