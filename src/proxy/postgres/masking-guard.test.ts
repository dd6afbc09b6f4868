import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load-config.js';
import type { CatalogEntry } from '../../masking/catalog-cache.js';
import type { SessionMasking } from '../../masking/session-masking.js';
import type { QualifiedName } from '../../policy/policy-types.js';
import { loadSqlParser } from '../../policy/sql-parser.js';
import { allowAllGuard, type GuardVerdict, type SessionIdentity } from '../guard.js';
import type { ResultColumn, ValueMask } from '../result-masking.js';
import { type CatalogSource, MASKING_CATALOG_UNAVAILABLE_SQLSTATE, maskingGuard } from './masking-guard.js';

const CONFIG = parseConfigText(
  `
listen: { postgres: 127.0.0.1:6432 }
upstreams:
  shop: { url: postgres://gw@127.0.0.1/shop, tls: disable }
classify:
  public.customers.ssn: ssn
roles:
  analyst:
    upstream: shop
    mask:
      - columns: [public.customers.email]
        strategy: partial
      - classes: [ssn]
        strategy: redact
  strict:
    upstream: shop
    mask:
      unknown: deny
      rules:
        - columns: [public.customers.email]
          strategy: redact
  plain:
    upstream: shop
`,
  { baseDir: process.cwd(), source: null, env: {} },
);

const CUSTOMERS: CatalogEntry = {
  oid: 16_400,
  attnames: new Map([
    [1, 'id'],
    [2, 'email'],
    [3, 'ssn'],
  ]),
  relation: { schema: 'public', name: 'customers', kind: 'table', columns: ['id', 'email', 'ssn'] },
};
const CONTACTS: CatalogEntry = {
  oid: 16_500,
  attnames: new Map([[1, 'contact']]),
  relation: {
    schema: 'public',
    name: 'contacts',
    kind: 'view',
    columns: ['contact'],
    viewQuery: 'SELECT lower(customers.email) AS contact FROM public.customers;',
  },
};

const LEADS: CatalogEntry = {
  oid: 16_600,
  attnames: new Map([
    [1, 'id'],
    [2, 'note'],
  ]),
  relation: { schema: 'public', name: 'leads', kind: 'table', columns: ['id', 'note'] },
};

class FakeCatalog implements CatalogSource {
  readonly asked: QualifiedName[][] = [];
  failing = false;
  async fetch(names: readonly QualifiedName[]): Promise<CatalogEntry[]> {
    this.asked.push([...names]);
    if (this.failing) throw new Error('connection refused');
    return [CUSTOMERS, CONTACTS, LEADS].filter((entry) =>
      names.some((n) => n.schema === entry.relation.schema && n.name === entry.relation.name),
    );
  }
  close(): void {}
}

function session(role: string, catalog: FakeCatalog) {
  const identity = { sessionId: 's1', role } as SessionIdentity;
  return maskingGuard(allowAllGuard, CONFIG, () => catalog).openSession(identity);
}

async function check(guard: ReturnType<typeof session>, sql: string): Promise<GuardVerdict> {
  return await guard.checkBatch({ statements: [{ sql, via: 'simple-query' }] });
}

const column = (name: string, tableOid: number, attnum: number, typeOid = 25): ResultColumn => ({
  name,
  tableOid,
  attnum,
  typeOid,
  format: 'text',
});

/** What `mask` makes of `text`: the masked text, `text` itself when kept, null for SQL NULL. */
function applied(mask: ValueMask | undefined, text: string): string | null {
  const bytes = Buffer.from(text, 'utf8');
  const masked = mask?.(bytes, 0, bytes.length);
  return masked === undefined ? text : masked === null ? null : masked.toString('utf8');
}

describe('maskingGuard', () => {
  beforeAll(() => loadSqlParser());

  it('leaves roles without mask rules to the inner guard, untouched', () => {
    const guard = session('plain', new FakeCatalog());
    expect(guard.resultMasking).toBeUndefined();
  });

  it('reads the catalog once for the relations a statement names, then plans from the server origin', async () => {
    const catalog = new FakeCatalog();
    const guard = session('analyst', catalog);
    expect((await check(guard, 'select * from customers')).action).toBe('allow');
    expect(catalog.asked).toEqual(
      [[{ schema: 'public', name: 'customers' }]].map((names) => expect.arrayContaining(names)),
    );
    expect((await check(guard, 'select id from customers')).action).toBe('allow');
    expect(catalog.asked).toHaveLength(1);
    const plan = guard.resultMasking!.planRows('select * from customers', 0, [
      column('id', 16_400, 1, 23),
      column('email', 16_400, 2),
      column('ssn', 16_400, 3),
    ]);
    expect(plan?.columns[0]).toBeUndefined();
    expect(applied(plan?.columns[1], 'ann@example.com')).toBe('****@example.com');
    expect(applied(plan?.columns[2], '219-09-9999')).toBe('[redacted]');
  });

  it('traces a view column through the view definition', async () => {
    const guard = session('analyst', new FakeCatalog());
    await check(guard, 'select contact from contacts');
    const plan = guard.resultMasking!.planRows('select contact from contacts', 0, [
      column('contact', 16_500, 1),
    ]);
    expect(applied(plan?.columns[0], 'ann@example.com')).toBe('[redacted]');
  });

  it('masks a computed column by its expression lineage, and leaves unrelated ones', async () => {
    const guard = session('analyst', new FakeCatalog());
    const sql = 'select lower(email), upper(id::text) from customers';
    await check(guard, sql);
    const plan = guard.resultMasking!.planRows(sql, 0, [column('lower', 0, 0), column('upper', 0, 0)]);
    expect(applied(plan?.columns[0], 'ann@example.com')).toBe('[redacted]');
    // Not masked by origin; still scanned by the role's content detectors (class ssn).
    expect(plan?.columns[1]?.(Buffer.from('42'), 0, 2)).toBeUndefined();
    expect(applied(plan?.columns[1], 'ssn 219-09-9999')).toBe('ssn [redacted]');
  });

  it('refuses a strict-class column in a predicate, and allows it for other classes', async () => {
    const guard = session('analyst', new FakeCatalog());
    const refused = await check(guard, "select id from customers where ssn like '1%'");
    expect(refused).toMatchObject({
      action: 'deny',
      message: expect.stringContaining('public.customers.ssn'),
    });
    expect((await check(guard, "select id from customers where email like 'a%'")).action).toBe('allow');
  });

  it('refuses untraceable results when the role says unknown: deny', async () => {
    const guard = session('strict', new FakeCatalog());
    const refused = await check(
      guard,
      'select query_to_xml($$select email from customers$$, true, false, $$$$)',
    );
    expect(refused).toMatchObject({ action: 'deny', message: expect.stringContaining('cannot be traced') });
    expect((await check(guard, 'select lower(email) from customers')).action).toBe('allow');
  });

  it('refuses binary COPY of masked data', async () => {
    const guard = session('analyst', new FakeCatalog());
    expect((await check(guard, 'copy customers to stdout with (format binary)')).action).toBe('deny');
    expect((await check(guard, 'copy customers to stdout with (format csv)')).action).toBe('allow');
  });

  it('refuses writes that would copy masked data out of its masking', async () => {
    const guard = session('analyst', new FakeCatalog());
    for (const sql of [
      'insert into leads(note) select email from customers',
      'insert into leads select id, lower(ssn) from customers',
      'update leads set note = c.email from customers c where c.id = leads.id',
      'merge into leads l using customers c on l.id = c.id when matched then update set note = c.ssn',
      'create table t as select ssn from customers',
      'select email into t from customers',
    ]) {
      expect(await check(guard, sql), sql).toMatchObject({
        action: 'deny',
        message: expect.stringMatching(/copy it out of its masking/),
      });
    }
    for (const sql of [
      "insert into leads(note) values ('hello')",
      'insert into leads(id) select id from customers',
      'update leads set note = $1 where id = 1',
      'create table t as select id from customers',
      'insert into scratch values (1)',
      // A table the catalog does not know (a temporary one) is read back as untraceable, hence masked.
      'insert into scratch select ssn from customers',
    ]) {
      expect((await check(guard, sql)).action, sql).toBe('allow');
    }
  });

  it('fails closed with 58000 when the catalog cannot be read', async () => {
    const catalog = new FakeCatalog();
    catalog.failing = true;
    const verdict = await check(session('analyst', catalog), 'select * from customers');
    expect(verdict).toMatchObject({ action: 'deny', sqlState: MASKING_CATALOG_UNAVAILABLE_SQLSTATE });
  });

  it('records bound values masked when they are compared with a masked column', async () => {
    const guard = session('analyst', new FakeCatalog());
    const sql = 'select id from customers where email = $1';
    await check(guard, sql);
    expect((guard.resultMasking as SessionMasking).recordedParams(sql, ['ann@example.com', null])).toEqual([
      '[redacted]',
      null,
    ]);
    expect(
      (guard.resultMasking as SessionMasking).recordedParams('select $1::text', ['call 415-555-0132 now']),
    ).toEqual(['call [redacted] now']);
  });
});
