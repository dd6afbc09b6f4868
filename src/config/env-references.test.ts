// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about ${VAR} text in YAML.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { holdsPlaceholderCharacters, restoreEnvReferences, shieldEnvReferences } from './env-references.js';

const read = (text: string) => restoreEnvReferences(parse(shieldEnvReferences(text)));

describe('env references through YAML', () => {
  it('keeps ${VAR} in flow style, block style, inside text and quoted, exactly as written', () => {
    expect(read('a: { key: ${ALICE_KEY}, n: [${X}, 2] }')).toEqual({
      a: { key: '${ALICE_KEY}', n: ['${X}', 2] },
    });
    expect(read('url: postgres://u@${HOST}/db\nq: "x ${Y} y"\nlit: $${NOT}')).toEqual({
      url: 'postgres://u@${HOST}/db',
      q: 'x ${Y} y',
      lit: '$${NOT}',
    });
    expect(read('- { url: ${SLACK_WEBHOOK_URL}, format: slack }')).toEqual([
      { url: '${SLACK_WEBHOOK_URL}', format: 'slack' },
    ]);
  });

  it('leaves what is not a reference alone, keeps __proto__ a plain key, and spots placeholder characters', () => {
    expect(read('a: ${1X}b')).toEqual({ a: '${1X}b' });
    const tree = read('__proto__: { x: 1 }') as Record<string, unknown>;
    expect(Object.keys(tree)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(tree)).toBe(Object.prototype);
    expect(holdsPlaceholderCharacters('a: \uE000')).toBe(true);
    expect(holdsPlaceholderCharacters('a: b')).toBe(false);
  });
});
