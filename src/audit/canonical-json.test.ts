/** canonicalJson: one text per value, key order independence, and every ambiguous value rejected. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('writes scalars, arrays and nested objects without whitespace', () => {
    expect(canonicalJson({ b: [1, 'x', null, true, false], a: { d: -3, c: '' } })).toBe(
      '{"a":{"c":"","d":-3},"b":[1,"x",null,true,false]}',
    );
  });

  it('does not depend on insertion order of keys', () => {
    const one = { kind: 'x', what: { rows: 3, sql: 'select 1' }, at: 't' };
    const two = { at: 't', what: { sql: 'select 1', rows: 3 }, kind: 'x' };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
  });

  it('sorts keys by UTF-16 code unit, not by locale', () => {
    // 'Z' (0x5a) < 'a' (0x61) < 'é' (0xe9) < '😀' (0xd83d…) < 'ｆ' (0xff46)
    expect(canonicalJson({ ｆ: 1, '😀': 2, é: 3, a: 4, Z: 5 })).toBe('{"Z":5,"a":4,"é":3,"😀":2,"ｆ":1}');
  });

  it('escapes strings exactly as JSON.stringify does', () => {
    const text = 'quote " backslash \\ newline \n tab \t nul \u0000 lone \ud800';
    expect(canonicalJson(text)).toBe(JSON.stringify(text));
    expect(JSON.parse(canonicalJson({ text }))).toEqual({ text });
  });

  it('accepts safe integers at both ends and writes -0 as 0', () => {
    expect(canonicalJson([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -0])).toBe(
      '[9007199254740991,-9007199254740991,0]',
    );
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as Record<string, number>;
    bare.b = 2;
    bare.a = 1;
    expect(canonicalJson(bare)).toBe('{"a":1,"b":2}');
  });

  it.each([
    ['a float', { rows: 1.5 }, '$.rows'],
    ['NaN', [Number.NaN], '$[0]'],
    ['Infinity', { d: Number.POSITIVE_INFINITY }, '$.d'],
    ['an unsafe integer', 2 ** 53, '$'],
    ['undefined at the top', undefined, '$'],
    ['an undefined member', { a: undefined }, '$.a'],
    ['an undefined array item', [undefined], '$[0]'],
    ['an array hole', Object.assign(new Array(3), { 0: 1, 2: 3 }), '$[1]'],
    ['a function', { f: () => 1 }, '$.f'],
    ['a symbol', Symbol('s'), '$'],
    ['a bigint', { n: 1n }, '$.n'],
    ['a Date', { at: new Date(0) }, '$.at'],
    ['a Map', new Map(), '$'],
    ['a symbol key', { [Symbol('k')]: 1 }, '$'],
  ])('rejects %s, naming the path', (_label, value, path) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(value)).toThrow(path);
  });

  it('rejects a cycle but allows the same object twice side by side', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/circular/);
  });

  it('writes a frozen object once and the same text after, but re-reads an object with an unfrozen part', () => {
    const frozen = Object.freeze({ b: Object.freeze(['x']), a: 1 });
    expect(canonicalJson({ who: frozen })).toBe('{"who":{"a":1,"b":["x"]}}');
    expect(canonicalJson({ who: frozen, n: 2 })).toBe('{"n":2,"who":{"a":1,"b":["x"]}}');
    const inner = { c: 1 };
    const shallow = Object.freeze({ inner });
    expect(canonicalJson(shallow)).toBe('{"inner":{"c":1}}');
    inner.c = 2;
    expect(canonicalJson(shallow)).toBe('{"inner":{"c":2}}');
    let calls = 0;
    const withGetter = Object.freeze(
      Object.defineProperty({}, 'n', { enumerable: true, get: () => ++calls }),
    );
    expect(canonicalJson(withGetter)).toBe('{"n":1}');
    expect(canonicalJson(withGetter)).toBe('{"n":2}');
  });

  it('writes values nested deeper than the fast path goes, and still finds a cycle there', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 50; i++) deep = { k: [deep] };
    expect(canonicalJson(deep)).toBe(JSON.stringify(deep));
    const ring: Record<string, unknown> = {};
    let node = ring;
    for (let i = 0; i < 40; i++) {
      const next: Record<string, unknown> = {};
      node.next = next;
      node = next;
    }
    node.next = ring;
    expect(() => canonicalJson(ring)).toThrow(/circular/);
  });

  it("equals JSON.stringify of the value with every object's keys sorted (property)", () => {
    const sorted = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(sorted);
      if (typeof value !== 'object' || value === null) return value;
      const record = value as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(record)
          .sort()
          .map((key) => [key, sorted(record[key])]),
      );
    };
    const json = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.string({ unit: 'binary' }),
        fc.maxSafeInteger(),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, fc.boolean(), (value, freeze) => {
        const given = freeze ? deepFreeze(structuredClone(value)) : value;
        expect(canonicalJson(given)).toBe(JSON.stringify(sorted(value)));
        expect(canonicalJson(given)).toBe(JSON.stringify(sorted(value)));
      }),
    );
  });
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
