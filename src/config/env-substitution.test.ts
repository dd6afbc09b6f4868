// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} text is what these tests feed the loader.
import { describe, expect, it } from 'vitest';
import { substituteEnv, substituteString } from './env-substitution.js';

describe('substituteString', () => {
  it('replaces ${NAME} with the variable, anywhere in the text', () => {
    expect(substituteString('${A}-${B_2}!', { A: 'x', B_2: 'y' })).toEqual({ ok: true, text: 'x-y!' });
  });

  it('turns $${ into a literal ${ without looking the name up', () => {
    expect(substituteString('cost: $${PRICE} and ${A}', { A: 'a' })).toEqual({
      ok: true,
      text: 'cost: ${PRICE} and a',
    });
  });

  it('leaves a lone $ alone', () => {
    expect(substituteString('pa$word $$ $', {})).toEqual({ ok: true, text: 'pa$word $$ $' });
  });

  it('keeps an empty variable as empty text', () => {
    expect(substituteString('[${E}]', { E: '' })).toEqual({ ok: true, text: '[]' });
  });

  it('does not substitute again inside a substituted value', () => {
    expect(substituteString('${A}', { A: '${B}', B: 'no' })).toEqual({ ok: true, text: '${B}' });
  });

  it('reports an unset variable by name', () => {
    expect(substituteString('${MISSING}', {})).toEqual({
      ok: false,
      problems: [{ problem: 'environment variable MISSING is not set', fix: 'export it or remove the key' }],
    });
  });

  it.each(['${}', '${1X}', '${A', 'x ${A-B} y'])('reports %j as malformed without quoting it', (text) => {
    const result = substituteString(text, { A: 'a' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]?.problem).toBe('contains a malformed ${...} reference');
  });
});

describe('substituteEnv', () => {
  it('substitutes string values at any depth and leaves keys and other scalars alone', () => {
    const tree = { '${K}': { list: ['${A}', 3, true, null], nested: { v: 'x${A}' } } };
    expect(substituteEnv(tree, { A: 'a', K: 'k' })).toEqual({
      value: { '${K}': { list: ['a', 3, true, null], nested: { v: 'xa' } } },
      issues: [],
    });
  });

  it('cannot inject structure: a value that looks like YAML stays text', () => {
    const { value } = substituteEnv({ password: '${P}' }, { P: 'x\nadmin: true' });
    expect(value).toEqual({ password: 'x\nadmin: true' });
  });

  it('names the dotted key of every failed reference', () => {
    const { issues } = substituteEnv(
      { upstreams: { shop: { password: '${SHOP_DB_PASSWORD}' } }, a: ['${B}'] },
      {},
    );
    expect(issues).toEqual([
      {
        key: 'upstreams.shop.password',
        problem: 'environment variable SHOP_DB_PASSWORD is not set',
        fix: 'export it or remove the key',
      },
      { key: 'a[0]', problem: 'environment variable B is not set', fix: 'export it or remove the key' },
    ]);
  });

  it('does not mutate its input', () => {
    const tree = { a: '${A}' };
    substituteEnv(tree, { A: 'x' });
    expect(tree).toEqual({ a: '${A}' });
  });
});
