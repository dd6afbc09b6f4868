import { describe, expect, it } from 'vitest';
import { claimAsText, parseClaimTemplate, renderClaimTemplate } from './claim-template.js';

describe('parseClaimTemplate', () => {
  it('splits literal text and claim references', () => {
    expect(parseClaimTemplate('github:{repository}:{workflow}')).toEqual({
      ok: true,
      parts: [
        { kind: 'text', text: 'github:' },
        { kind: 'claim', name: 'repository', optional: false },
        { kind: 'text', text: ':' },
        { kind: 'claim', name: 'workflow', optional: false },
      ],
    });
    expect(parseClaimTemplate('{pr?}')).toEqual({
      ok: true,
      parts: [{ kind: 'claim', name: 'pr', optional: true }],
    });
    expect(parseClaimTemplate('ci-bot')).toEqual({ ok: true, parts: [{ kind: 'text', text: 'ci-bot' }] });
  });

  it('refuses unbalanced braces and bad claim names', () => {
    expect(parseClaimTemplate('{sub')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/without a closing/),
    });
    expect(parseClaimTemplate('sub}')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/without an opening/),
    });
    expect(parseClaimTemplate('{}')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/not a claim/),
    });
    expect(parseClaimTemplate('{?}')).toMatchObject({ ok: false });
    expect(parseClaimTemplate('{a b}')).toMatchObject({ ok: false });
    expect(parseClaimTemplate('{a{b}}')).toMatchObject({ ok: false });
    expect(parseClaimTemplate('{a??}')).toMatchObject({ ok: false });
  });
});

describe('claimAsText', () => {
  it('writes out scalars and refuses everything else', () => {
    expect(claimAsText('x')).toBe('x');
    expect(claimAsText(42)).toBe('42');
    expect(claimAsText(true)).toBe('true');
    expect(claimAsText(Number.NaN)).toBeNull();
    expect(claimAsText(['a'])).toBeNull();
    expect(claimAsText({ a: 1 })).toBeNull();
    expect(claimAsText(null)).toBeNull();
  });
});

describe('renderClaimTemplate', () => {
  const claims = { run_id: '4711', run_attempt: 2, ref: 'refs/heads/main', pr: null };

  it('fills claims, leaving out missing optional ones', () => {
    expect(renderClaimTemplate('{run_id}.{run_attempt}', claims)).toEqual({ ok: true, text: '4711.2' });
    expect(renderClaimTemplate('{ref} #{pr?}{number?}', claims)).toEqual({
      ok: true,
      text: 'refs/heads/main #',
    });
  });

  it('says which required claim is missing or unusable', () => {
    expect(renderClaimTemplate('{workflow}', claims)).toEqual({
      ok: false,
      problem: 'needs claim workflow, which is missing',
    });
    expect(renderClaimTemplate('{groups}', { groups: ['a'] })).toEqual({
      ok: false,
      problem: 'needs claim groups, which is not text',
    });
  });

  it('refuses control characters, bidi overrides, empty and overlong results', () => {
    expect(renderClaimTemplate('{ref}', { ref: 'main\nforged line' })).toMatchObject({
      ok: false,
      problem: 'claim ref contains control characters',
    });
    expect(renderClaimTemplate('{ref}', { ref: 'main\u202e' })).toMatchObject({ ok: false });
    expect(renderClaimTemplate('{ref}', { ref: 'main\u0085' })).toMatchObject({ ok: false });
    expect(renderClaimTemplate('{ref?}', {})).toEqual({ ok: false, problem: 'would be empty' });
    expect(renderClaimTemplate('{ref}', { ref: '   ' })).toEqual({ ok: false, problem: 'would be empty' });
    expect(renderClaimTemplate('x{ref}', { ref: 'a'.repeat(511) })).toMatchObject({ ok: true });
    expect(renderClaimTemplate('xx{ref}', { ref: 'a'.repeat(511) })).toEqual({
      ok: false,
      problem: 'would be longer than 512 characters',
    });
  });

  it('never reads inherited properties as claims', () => {
    expect(renderClaimTemplate('{constructor}', {})).toMatchObject({ ok: false });
    expect(renderClaimTemplate('{toString?}x', {})).toEqual({ ok: true, text: 'x' });
  });
});
