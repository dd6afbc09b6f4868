/** Name resolution: qualified names as written, unqualified ones once per schema the server may find them in. */
import { describe, expect, it } from 'vitest';
import {
  resolveFunction,
  resolveNewRelation,
  resolveRelation,
  resolveRelationParts,
} from './name-resolution.js';
import { UnclassifiedError } from './unclassified.js';

const names = (list: ReadonlyArray<{ schema: string; name: string }>) =>
  list.map((n) => `${n.schema}.${n.name}`);

describe('resolveRelation', () => {
  it.each([
    [undefined, 'orders', ['public'], ['public.orders']],
    ['sales', 'orders', ['public'], ['sales.orders']],
    [undefined, 'orders', ['app', 'public'], ['app.orders', 'public.orders']],
    [undefined, 'pg_class', ['public'], ['pg_catalog.pg_class']],
    ['public', 'pg_class', ['public'], ['public.pg_class']],
    [undefined, 'pg_class', ['public', 'pg_catalog'], ['public.pg_class', 'pg_catalog.pg_class']],
    [undefined, 'pg_class', ['pg_catalog', 'public'], ['pg_catalog.pg_class']],
    [undefined, 'pg_secret', ['public'], ['pg_catalog.pg_secret', 'public.pg_secret']],
    [undefined, 'orders', ['pg_catalog', 'public'], ['public.orders']],
  ] as const)('%s.%s along %j → %j', (schema, name, path, expected) => {
    expect(names(resolveRelation(schema, name, path))).toEqual(expected);
  });

  it('is unclassified with an empty search_path', () => {
    expect(() => resolveRelation(undefined, 'orders', [])).toThrow(UnclassifiedError);
  });
});

describe('resolveNewRelation', () => {
  it('creates along the search_path, never in pg_catalog', () => {
    expect(names(resolveNewRelation(undefined, 'pg_class', ['app', 'public']))).toEqual([
      'app.pg_class',
      'public.pg_class',
    ]);
    expect(names(resolveNewRelation('x', 'y', ['public']))).toEqual(['x.y']);
  });
});

describe('resolveRelationParts', () => {
  it('takes one or two parts and refuses cross-database names', () => {
    expect(names(resolveRelationParts(['t'], ['public']))).toEqual(['public.t']);
    expect(names(resolveRelationParts(['s', 't'], ['public']))).toEqual(['s.t']);
    expect(() => resolveRelationParts(['db', 's', 't'], ['public'])).toThrow(
      /cross-database reference db\.s\.t/,
    );
    expect(() => resolveRelationParts(['a', 'b', 'c', 'd'], ['public'])).toThrow(/improper qualified name/);
  });
});

describe('resolveFunction', () => {
  it.each([
    [['lower'], ['public'], ['pg_catalog.lower']],
    [['lower'], ['app', 'public'], ['pg_catalog.lower']],
    [['lower'], ['public', 'pg_catalog'], ['public.lower', 'pg_catalog.lower']],
    [['order_total'], ['app', 'public'], ['app.order_total', 'public.order_total']],
    [['public', 'lower'], ['app'], ['public.lower']],
    [['dblink_exec'], ['public'], ['public.dblink_exec']],
  ] as const)('%j along %j → %j', (parts, path, expected) => {
    expect(names(resolveFunction(parts, path))).toEqual(expected);
  });

  it('refuses cross-database and empty-path resolution', () => {
    expect(() => resolveFunction(['db', 's', 'f'], ['public'])).toThrow(/cross-database function reference/);
    expect(() => resolveFunction(['f'], [])).toThrow(/search_path is empty/);
  });
});
