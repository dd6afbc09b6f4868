/** docs/errors.md lists every SQLSTATE and every named constructor an agent can receive from the gateway. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const source = readFileSync(new URL('../../src/wire/postgres/pg-error.ts', import.meta.url), 'utf8');
const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
/** SQLSTATEs a guard gives its refusals besides the default 42501 (e.g. the audit's write-ahead refusal). */
const guardCodes = [
  '../../src/audit/audited-guard.ts',
  '../../src/proxy/postgres/masking-guard.ts',
  '../../src/approvals/approval-guard.ts',
].flatMap((file) =>
  [...readFileSync(new URL(file, import.meta.url), 'utf8').matchAll(/SQLSTATE = '([0-9A-Z]{5})'/g)].map(
    (m) => m[1]!,
  ),
);

describe('docs/errors.md', () => {
  const codes = [
    ...new Set([...[...source.matchAll(/code: '([0-9A-Z]{5})'/g)].map((m) => m[1]!), ...guardCodes]),
  ];
  const constructors = [...source.matchAll(/^ {2}static (\w+)\(/gm)].map((m) => m[1]!);

  it('finds the codes and constructors in the source (guards this test itself)', () => {
    expect(codes.length).toBeGreaterThan(8);
    expect(guardCodes).toEqual(['58030', '58000', '57014']);
    expect(constructors.length).toBeGreaterThan(10);
  });

  it.each(codes)('documents SQLSTATE %s', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });

  it.each(constructors)('documents PgError.%s', (name) => {
    expect(doc).toContain(`\`${name}\``);
  });
});
