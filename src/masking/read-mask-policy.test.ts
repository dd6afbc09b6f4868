import { describe, expect, it } from 'vitest';
import { type MaskPolicyIssue, readClassify, readMaskPolicy } from './read-mask-policy.js';

const KEY = 'k'.repeat(32);

function read(value: unknown, hashKey: string | null = null, classify: unknown = undefined) {
  const issues: MaskPolicyIssue[] = [];
  const classes = readClassify(classify, issues);
  const policy = readMaskPolicy('analyst', value, classes, hashKey, issues);
  return { policy, issues };
}

describe('readMaskPolicy', () => {
  it('reads the list form with defaults', () => {
    const { policy, issues } = read([
      { columns: ['public.customers.email', '*.*.ssn'], strategy: 'partial' },
      { classes: ['email', 'phone'], strategy: 'redact' },
    ]);
    expect(issues).toEqual([]);
    expect(policy).toMatchObject({
      role: 'analyst',
      predicates: 'strict',
      unknownLineage: 'mask',
      hashKey: undefined,
      rules: [
        {
          source: 'roles.analyst.mask[0]',
          columns: [
            { schema: 'public', table: 'customers', column: 'email' },
            { schema: '*', table: '*', column: 'ssn' },
          ],
          classes: [],
          strategy: 'partial',
          predicates: undefined,
        },
        { source: 'roles.analyst.mask[1]', columns: [], classes: ['email', 'phone'], strategy: 'redact' },
      ],
    });
  });

  it('reads the mapping form with options, and folds names as the server does', () => {
    const { policy, issues } = read(
      {
        predicates: 'deny',
        unknown: 'deny',
        rules: [{ columns: ['Public."Customers".EMAIL'], strategy: 'hash', predicates: 'allow' }],
      },
      KEY,
    );
    expect(issues).toEqual([]);
    expect(policy?.predicates).toBe('deny');
    expect(policy?.unknownLineage).toBe('deny');
    expect(policy?.rules[0]?.columns).toEqual([{ schema: 'public', table: 'Customers', column: 'email' }]);
    expect(policy?.rules[0]?.predicates).toBe('allow');
    expect(Buffer.from(policy!.hashKey!).toString()).toBe(KEY);
  });

  it('is null for a role without mask', () => {
    expect(read(undefined).policy).toBeNull();
  });

  it('reports every mistake with its key and a fix', () => {
    const { issues } = read({
      rules: [
        { columns: ['customers.email'], strategy: 'blur' },
        { classes: ['emails'], strategy: 'redact', extra: 1 },
        { strategy: 'redact' },
        { columns: ['public.t.c'] },
        'public.t.c',
      ],
      predicates: 'sometimes',
      typo: true,
    });
    expect(issues.map((issue) => issue.key)).toEqual([
      'roles.analyst.mask.typo',
      'roles.analyst.mask.predicates',
      'roles.analyst.mask.rules[0].columns[0]',
      'roles.analyst.mask.rules[0].strategy',
      'roles.analyst.mask.rules[1].extra',
      'roles.analyst.mask.rules[1].classes[0]',
      'roles.analyst.mask.rules[2]',
      'roles.analyst.mask.rules[3].strategy',
      'roles.analyst.mask.rules[4]',
    ]);
    for (const issue of issues) expect(issue.fix.length).toBeGreaterThan(5);
  });

  it('requires a long enough hash key when a rule hashes', () => {
    expect(read([{ columns: ['a.b.c'], strategy: 'hash' }]).issues.map((i) => i.key)).toEqual([
      'masking.hash_key',
    ]);
    expect(read([{ columns: ['a.b.c'], strategy: 'hash' }], 'short').issues[0]?.problem).toMatch(
      /shorter than 32/,
    );
  });

  it('reads classify and refuses wildcards and unknown classes there', () => {
    const issues: MaskPolicyIssue[] = [];
    const classes = readClassify(
      { 'public.customers.ssn': 'ssn', 'public.*.x': 'email', 'public.t.y': 'passport' },
      issues,
    );
    expect([...classes]).toEqual([['public.customers.ssn', 'ssn']]);
    expect(issues.map((issue) => issue.key)).toEqual(['classify.public.*.x', 'classify.public.t.y']);
  });
});
