/** FactsCollector: each fact once, the worst effect, and FROM-item captures for row locking. */
import { describe, expect, it } from 'vitest';
import { FactsCollector } from './facts-collector.js';

const orders = { schema: 'public', name: 'orders' };
const secrets = { schema: 'public', name: 'secrets' };

describe('FactsCollector', () => {
  it('records each access, function and feature once', () => {
    const ctx = new FactsCollector(['public']);
    ctx.addAccess(orders, 'select');
    ctx.addAccess({ ...orders }, 'select');
    ctx.addAccess(orders, 'update');
    ctx.addFunction({ schema: 'pg_catalog', name: 'lower' });
    ctx.addFunction({ schema: 'pg_catalog', name: 'lower' });
    ctx.addFeature('set', 'role');
    ctx.addFeature('set', 'role');
    ctx.addFeature('do-block');
    expect(ctx.toFacts('X')).toEqual({
      kind: 'X',
      effect: 'write',
      accesses: [
        { relation: orders, operation: 'select' },
        { relation: orders, operation: 'update' },
      ],
      functions: [{ schema: 'pg_catalog', name: 'lower' }],
      features: [{ feature: 'set', detail: 'role' }, { feature: 'do-block' }],
    });
  });

  it.each([
    [['read'], 'read'],
    [['transaction', 'read'], 'transaction'],
    [['session', 'transaction'], 'session'],
    [['utility', 'session'], 'utility'],
    [['write', 'utility'], 'write'],
    [['ddl', 'write'], 'ddl'],
    [['privilege', 'ddl'], 'privilege'],
  ] as const)('the effect of %j is %s', (effects, worst) => {
    const ctx = new FactsCollector(['public']);
    for (const effect of effects) ctx.raiseEffect(effect);
    expect(ctx.toFacts('X').effect).toBe(worst);
  });

  it('captures reads for enclosing captures, but not while paused', () => {
    const ctx = new FactsCollector(['public']);
    let inner: unknown[] = [];
    const outer = ctx.captureReads(() => {
      inner = ctx.captureReads(() => ctx.addAccess(orders, 'select'));
      ctx.withoutCaptures(() => ctx.addAccess(secrets, 'select'));
      ctx.addAccess(secrets, 'update');
    });
    expect(inner).toEqual([orders]);
    expect(outer).toEqual([orders]);
  });
});
