import { describe, expect, it } from 'vitest';
import { matchesGlob } from './claim-glob.js';

describe('matchesGlob', () => {
  it('matches literal patterns exactly', () => {
    expect(matchesGlob('acme/shop', 'acme/shop')).toBe(true);
    expect(matchesGlob('acme/shop', 'acme/shop2')).toBe(false);
    expect(matchesGlob('acme/shop', 'acme/sho')).toBe(false);
    expect(matchesGlob('acme/shop', 'ACME/shop')).toBe(false);
    expect(matchesGlob('', '')).toBe(true);
    expect(matchesGlob('', 'x')).toBe(false);
  });

  it('lets * stand for any run of characters, slashes included', () => {
    expect(matchesGlob('refs/heads/*', 'refs/heads/main')).toBe(true);
    expect(matchesGlob('refs/heads/*', 'refs/heads/feature/x')).toBe(true);
    expect(matchesGlob('refs/heads/*', 'refs/heads/')).toBe(true);
    expect(matchesGlob('refs/heads/*', 'refs/tags/v1')).toBe(false);
    expect(matchesGlob('acme/*', 'acme/shop')).toBe(true);
    expect(matchesGlob('acme/*', 'acmex/shop')).toBe(false);
    expect(matchesGlob('*', '')).toBe(true);
    expect(matchesGlob('a*b*c', 'aXbYc')).toBe(true);
    expect(matchesGlob('a*b*c', 'abcbc')).toBe(true);
    expect(matchesGlob('a*b*c', 'aXbY')).toBe(false);
    expect(
      matchesGlob('*.yml@refs/heads/main', 'acme/shop/.github/workflows/deploy.yml@refs/heads/main'),
    ).toBe(true);
  });

  it('treats regular expression and shell characters literally', () => {
    expect(matchesGlob('v1.?', 'v1.?')).toBe(true);
    expect(matchesGlob('v1.?', 'v1.2')).toBe(false);
    expect(matchesGlob('[ab]', 'a')).toBe(false);
    expect(matchesGlob('a+', 'aa')).toBe(false);
  });

  it('stays fast on patterns that would make a backtracking regex explode', () => {
    const text = 'a'.repeat(5_000);
    const started = performance.now();
    expect(matchesGlob('*a*a*a*a*a*a*a*a*b', text)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
