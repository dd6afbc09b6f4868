/**
 * statementLineage over a fake catalog: for each result column, the table columns its value may come
 * from (a column shown as `table.column`, `schema.table.column` outside public; OPAQUE when untraceable),
 * and the columns the statement filters, joins, sorts or groups by.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser, parseSqlStatements } from '../../policy/sql-parser.js';
import type { CatalogRelation, CatalogSnapshot, ColumnLineage, StatementLineage } from './lineage-types.js';
import { statementLineage } from './statement-lineage.js';

beforeAll(async () => {
  await loadSqlParser();
});

const CUSTOMER_COLUMNS = ['id', 'name', 'email', 'phone', 'ssn', 'card_number', 'notes'];

function table(schema: string, name: string, columns: readonly string[]): CatalogRelation {
  return { schema, name, kind: 'table', columns };
}

function view(schema: string, name: string, columns: readonly string[], viewQuery: string): CatalogRelation {
  return { schema, name, kind: 'view', columns, viewQuery };
}

/** A chain of views deeper than the analysis follows: deep_0 over customers, deep_i over deep_(i-1). */
const DEEP_VIEWS = Array.from({ length: 20 }, (_, i) =>
  view(
    'public',
    `deep_${i}`,
    ['ssn'],
    i === 0 ? 'SELECT ssn FROM public.customers' : `SELECT ssn FROM public.deep_${i - 1}`,
  ),
);

const RELATIONS: readonly CatalogRelation[] = [
  table('public', 'customers', CUSTOMER_COLUMNS),
  table('public', 'orders', ['id', 'customer_id', 'total', 'note']),
  view(
    'public',
    'customer_contacts',
    ['id', 'contact', 'lname'],
    'SELECT customers.id, customers.email AS contact, lower(customers.name) AS lname FROM customers',
  ),
  view(
    'public',
    'contact_summary',
    ['id', 'contact_upper'],
    'SELECT customer_contacts.id, upper(customer_contacts.contact) AS contact_upper FROM customer_contacts',
  ),
  view('public', 'filtered_customers', ['name'], "SELECT name FROM customers WHERE ssn LIKE '1%'"),
  view('public', 'loop_a', ['x'], 'SELECT x FROM loop_b'),
  view('public', 'loop_b', ['x'], 'SELECT x FROM loop_a'),
  view('public', 'broken_view', ['x'], 'SELECT FROM FROM'),
  view('public', 'star_view', CUSTOMER_COLUMNS, 'SELECT customers.* FROM customers'),
  table('app', 'customers', ['id', 'nickname']),
  table('pg_temp', 'scratch', ['secret']),
  ...DEEP_VIEWS,
];

const CATALOG: CatalogSnapshot = {
  relation: (schema, name) => RELATIONS.find((r) => r.schema === schema && r.name === name),
};

function analyse(sql: string, searchPath: readonly string[] = ['public']): StatementLineage {
  const parsed = parseSqlStatements(sql);
  if (!parsed.ok) throw new Error(parsed.reason);
  const [statement] = parsed.stmts;
  if (statement === undefined || parsed.stmts.length !== 1) throw new Error('expected one statement');
  return statementLineage(statement.node, searchPath, CATALOG);
}

function render(lineage: ColumnLineage): string[] {
  const names = lineage.sources
    .map((s) => (s.schema === 'public' ? `${s.table}.${s.column}` : `${s.schema}.${s.table}.${s.column}`))
    .sort();
  return lineage.opaque ? [...names, 'OPAQUE'] : names;
}

function outputs(sql: string, searchPath?: readonly string[]): string[][] | null {
  return analyse(sql, searchPath).outputs?.map(render) ?? null;
}

function only(sql: string, searchPath?: readonly string[]): string[] {
  const result = outputs(sql, searchPath);
  if (result === null || result.length !== 1)
    throw new Error(`expected one result column: ${JSON.stringify(result)}`);
  return result[0] ?? [];
}

function predicates(sql: string): string[] {
  return render(analyse(sql).predicates);
}

function anyOutput(sql: string): string[] {
  return render(analyse(sql).anyOutput);
}

const ALL_CUSTOMERS = CUSTOMER_COLUMNS.map((c) => `customers.${c}`).sort();

describe('plain columns', () => {
  it('a column is its own source', () => {
    expect(outputs('SELECT email, name AS n FROM customers')).toEqual([
      ['customers.email'],
      ['customers.name'],
    ]);
  });

  it('qualified by alias, by table name and by schema.table', () => {
    expect(outputs('SELECT c.ssn FROM customers c')).toEqual([['customers.ssn']]);
    expect(outputs('SELECT customers.ssn, public.customers.email FROM customers')).toEqual([
      ['customers.ssn'],
      ['customers.email'],
    ]);
  });

  it('a constant, a parameter and a session value have no sources', () => {
    expect(outputs("SELECT 1, 'x', $1, current_user, now() FROM customers")).toEqual([[], [], [], [], []]);
  });

  it('system columns carry no data', () => {
    expect(outputs('SELECT ctid, c.xmin FROM customers c')).toEqual([[], []]);
  });
});

describe('star expansion', () => {
  it('* gives one column per table column, in order', () => {
    expect(outputs('SELECT * FROM customers')).toEqual(CUSTOMER_COLUMNS.map((c) => [`customers.${c}`]));
  });

  it('t.* and table.* expand one item; * over a comma join expands every item', () => {
    expect(outputs('SELECT o.*, c.id FROM customers c, orders o')).toEqual([
      ['orders.id'],
      ['orders.customer_id'],
      ['orders.total'],
      ['orders.note'],
      ['customers.id'],
    ]);
    expect(outputs('SELECT customers.* FROM customers')?.length).toBe(7);
    expect(outputs('SELECT * FROM customers, orders')?.length).toBe(11);
  });

  it('JOIN USING merges the joined column first, with both sides', () => {
    const result = outputs('SELECT * FROM customers JOIN orders USING (id)');
    expect(result?.[0]).toEqual(['customers.id', 'orders.id']);
    expect(result?.slice(1)).toEqual([
      ...CUSTOMER_COLUMNS.slice(1).map((c) => [`customers.${c}`]),
      ['orders.customer_id'],
      ['orders.total'],
      ['orders.note'],
    ]);
  });

  it('NATURAL JOIN merges the common names', () => {
    const result = outputs('SELECT * FROM customers NATURAL JOIN orders');
    expect(result?.length).toBe(10);
    expect(result?.[0]).toEqual(['customers.id', 'orders.id']);
  });

  it('an unqualified reference to a USING column has both sides; t.col only its own', () => {
    expect(outputs('SELECT id, o.id FROM customers c JOIN orders o USING (id)')).toEqual([
      ['customers.id', 'orders.id'],
      ['orders.id'],
    ]);
  });

  it('an aliased join exposes its merged columns; JOIN … USING … AS j only the merged ones', () => {
    expect(outputs('SELECT j.* FROM (customers JOIN orders USING (id)) AS j')?.length).toBe(10);
    expect(outputs('SELECT j.* FROM customers JOIN orders USING (id) AS j')).toEqual([
      ['customers.id', 'orders.id'],
    ]);
  });

  it('(c).* expands a whole-row reference', () => {
    expect(outputs('SELECT (c).* FROM customers c')).toEqual(CUSTOMER_COLUMNS.map((c) => [`customers.${c}`]));
  });

  it('* over an item of unknown shape: the number of columns is unknown, the union still known', () => {
    const result = analyse("SELECT *, c.ssn FROM customers c, unnest(ARRAY['a']) u");
    expect(result.outputs).toBeNull();
    expect(render(result.anyOutput)).toEqual(
      ['customers.ssn', ...ALL_CUSTOMERS].filter((v, i, a) => a.indexOf(v) === i).sort(),
    );
  });
});

describe('expressions', () => {
  it.each([
    ['lower(email)', ['customers.email']],
    ["email || ''", ['customers.email']],
    ['coalesce(phone, email)', ['customers.email', 'customers.phone']],
    ["CASE WHEN ssn IS NULL THEN name ELSE 'x' END", ['customers.name', 'customers.ssn']],
    ['CAST(card_number AS varchar(4))', ['customers.card_number']],
    ['ssn::text', ['customers.ssn']],
    ['substring(ssn FROM 1 FOR 3)', ['customers.ssn']],
    ['ARRAY[name, email]', ['customers.email', 'customers.name']],
    ['ROW(name, ssn)', ['customers.name', 'customers.ssn']],
    ['greatest(phone, email)', ['customers.email', 'customers.phone']],
    ["json_build_object('n', name)", ['customers.name']],
    ['(ARRAY[ssn])[1]', ['customers.ssn']],
    ["ssn IS NOT NULL AND name LIKE 'A%'", ['customers.name', 'customers.ssn']],
    ["nullif(ssn, '')", ['customers.ssn']],
    ["format('%s %s', name, phone)", ['customers.name', 'customers.phone']],
    ['notes COLLATE "C"', ['customers.notes']],
  ])('%s', (expression, expected) => {
    expect(only(`SELECT ${expression} FROM customers`)).toEqual(expected);
  });

  it('aggregates: arguments, ORDER BY and FILTER inside the call', () => {
    expect(only("SELECT string_agg(email, ',' ORDER BY ssn) FROM customers")).toEqual([
      'customers.email',
      'customers.ssn',
    ]);
    expect(only("SELECT array_agg(phone) FILTER (WHERE ssn LIKE '1%') FROM customers")).toEqual([
      'customers.phone',
      'customers.ssn',
    ]);
    expect(only('SELECT count(*) FROM customers')).toEqual([]);
    expect(only('SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY card_number) FROM customers')).toEqual([
      'customers.card_number',
    ]);
  });

  it('whole-row references carry every column: row_to_json(c), to_jsonb(c.*), json_agg(c), c', () => {
    for (const expression of ['row_to_json(c)', 'to_jsonb(c.*)', 'json_agg(c)', 'c', 'c.*::text']) {
      expect(only(`SELECT ${expression} FROM customers c`)).toEqual(ALL_CUSTOMERS);
    }
  });

  it('field selection on a whole row: (c).email has the row lineage', () => {
    expect(only('SELECT (c).email FROM customers c')).toEqual(ALL_CUSTOMERS);
  });

  it('window functions: arguments and the window clauses', () => {
    expect(only('SELECT rank() OVER (PARTITION BY ssn ORDER BY name) FROM customers')).toEqual([
      'customers.name',
      'customers.ssn',
    ]);
    expect(only('SELECT sum(id) OVER w FROM customers WINDOW w AS (PARTITION BY phone)')).toEqual([
      'customers.id',
      'customers.phone',
    ]);
  });
});

describe('sublinks', () => {
  it('a scalar subquery has its result and its predicates', () => {
    expect(
      only('SELECT (SELECT max(total) FROM orders o WHERE o.customer_id = c.id) FROM customers c'),
    ).toEqual(['customers.id', 'orders.customer_id', 'orders.total']);
  });

  it('EXISTS depends on the subquery’s predicates', () => {
    expect(only("SELECT EXISTS (SELECT 1 FROM customers WHERE ssn LIKE '1%')")).toEqual(['customers.ssn']);
  });

  it('IN and ANY: the tested value and the subquery', () => {
    expect(only('SELECT id IN (SELECT customer_id FROM orders) FROM customers')).toEqual([
      'customers.id',
      'orders.customer_id',
    ]);
    expect(only('SELECT id = ANY (SELECT customer_id FROM orders) FROM customers')).toEqual([
      'customers.id',
      'orders.customer_id',
    ]);
  });

  it('ARRAY(subquery)', () => {
    expect(only('SELECT ARRAY(SELECT note FROM orders)')).toEqual(['orders.note']);
  });

  it('correlated references reach outer levels, two levels up too', () => {
    expect(only('SELECT (SELECT c.ssn FROM orders o LIMIT 1) FROM customers c')).toEqual(['customers.ssn']);
    expect(
      only('SELECT (SELECT (SELECT email FROM orders LIMIT 1) FROM orders LIMIT 1) FROM customers'),
    ).toEqual(['customers.email']);
  });

  it('an inner column of the same name shadows the outer one', () => {
    expect(only('SELECT (SELECT id FROM orders LIMIT 1) FROM customers')).toEqual(['orders.id']);
  });
});

describe('WITH queries', () => {
  it('a CTE’s result columns', () => {
    expect(outputs('WITH x AS (SELECT ssn AS s, email FROM customers) SELECT email, s FROM x')).toEqual([
      ['customers.email'],
      ['customers.ssn'],
    ]);
  });

  it('a CTE column list renames', () => {
    expect(only('WITH x(a, b) AS (SELECT email, ssn FROM customers) SELECT b FROM x')).toEqual([
      'customers.ssn',
    ]);
  });

  it('a CTE shadows a relation of the same name; a later CTE sees an earlier one', () => {
    expect(only('WITH customers AS (SELECT note AS ssn FROM orders) SELECT ssn FROM customers')).toEqual([
      'orders.note',
    ]);
    expect(
      only('WITH a AS (SELECT ssn FROM customers), b AS (SELECT lower(ssn) AS l FROM a) SELECT l FROM b'),
    ).toEqual(['customers.ssn']);
  });

  it('a recursive CTE reaches its fixed point', () => {
    expect(
      outputs(
        'WITH RECURSIVE r(n, s) AS (SELECT 1, ssn FROM customers UNION ALL SELECT n + 1, s FROM r WHERE n < 3) SELECT s, n FROM r',
      ),
    ).toEqual([['customers.ssn'], []]);
    // Columns swap on every round: both end up with both.
    expect(
      outputs(
        'WITH RECURSIVE r(a, b) AS (SELECT email, ssn FROM customers UNION SELECT b, a FROM r) SELECT a, b FROM r',
      ),
    ).toEqual([
      ['customers.email', 'customers.ssn'],
      ['customers.email', 'customers.ssn'],
    ]);
  });

  it('a data-modifying CTE’s RETURNING', () => {
    expect(only('WITH d AS (DELETE FROM orders WHERE total > 10 RETURNING note) SELECT note FROM d')).toEqual(
      ['orders.note'],
    );
  });

  it('SEARCH and CYCLE columns are made of the listed columns', () => {
    const result = outputs(
      'WITH RECURSIVE r(id, ssn) AS (SELECT id, ssn FROM customers UNION ALL SELECT id, ssn FROM r) CYCLE ssn SET is_cycle USING path SELECT path FROM r',
    );
    expect(result).toEqual([['customers.ssn']]);
  });
});

describe('FROM items', () => {
  it('a subquery with column aliases', () => {
    expect(only('SELECT x FROM (SELECT ssn, email FROM customers) s(x, y)')).toEqual(['customers.ssn']);
  });

  it('LATERAL sees the items before it', () => {
    expect(only('SELECT l.e FROM customers c, LATERAL (SELECT c.email AS e) l')).toEqual(['customers.email']);
    expect(only('SELECT x.ssn FROM customers c CROSS JOIN LATERAL (SELECT c.*) x')).toEqual([
      'customers.ssn',
    ]);
  });

  it('a function in FROM: its columns come from its arguments', () => {
    expect(only('SELECT u FROM customers c, unnest(ARRAY[c.ssn]) u')).toEqual(['customers.ssn']);
    expect(only('SELECT x FROM customers c, json_to_recordset(c.notes::json) AS r(x int, y text)')).toEqual([
      'customers.notes',
    ]);
    expect(outputs('SELECT * FROM generate_series(1, 3) g')).toEqual([[]]);
    expect(outputs('SELECT e.key, e.value FROM customers c, jsonb_each(to_jsonb(c)) e')).toEqual([
      ALL_CUSTOMERS,
      ALL_CUSTOMERS,
    ]);
  });

  it('ROWS FROM … WITH ORDINALITY', () => {
    expect(
      outputs(
        'SELECT * FROM customers c, ROWS FROM (jsonb_each(to_jsonb(c.ssn)), generate_series(1, 2)) WITH ORDINALITY AS f(k, v, g, o)',
      )?.slice(7),
    ).toEqual([['customers.ssn'], ['customers.ssn'], [], []]);
  });

  it('an alias column list does not fix a function’s width', () => {
    expect(outputs("SELECT * FROM json_each('{}') AS j(k)")).toEqual([[], []]);
    expect(analyse("SELECT * FROM unnest(ARRAY['a']) AS u(x)").outputs).toBeNull();
  });

  it('TABLESAMPLE reads the table', () => {
    expect(only('SELECT ssn FROM customers TABLESAMPLE bernoulli (10)')).toEqual(['customers.ssn']);
  });

  it('XMLTABLE columns come from the document', () => {
    expect(
      outputs(
        "SELECT x.a FROM customers c, XMLTABLE('/r' PASSING CAST(c.notes AS xml) COLUMNS a text PATH 'a') AS x",
      ),
    ).toEqual([['customers.notes']]);
  });
});

describe('set operations and VALUES', () => {
  it('UNION, INTERSECT and EXCEPT union each position', () => {
    for (const op of ['UNION', 'UNION ALL', 'INTERSECT', 'EXCEPT']) {
      expect(outputs(`SELECT email, id FROM customers ${op} SELECT note, total FROM orders`)).toEqual([
        ['customers.email', 'orders.note'],
        ['customers.id', 'orders.total'],
      ]);
    }
  });

  it('VALUES: constants and outer references', () => {
    expect(outputs("VALUES (1, 'a'), (2, 'b')")).toEqual([[], []]);
    expect(only('SELECT v.x FROM customers c, LATERAL (VALUES (c.ssn), (c.phone)) v(x)')).toEqual([
      'customers.phone',
      'customers.ssn',
    ]);
    expect(only("SELECT column2 FROM (VALUES (1, 'x')) v")).toEqual([]);
  });
});

describe('views', () => {
  it('a view column has its query’s lineage', () => {
    expect(outputs('SELECT * FROM customer_contacts')).toEqual([
      ['customers.id'],
      ['customers.email'],
      ['customers.name'],
    ]);
    expect(only('SELECT v.lname FROM customer_contacts v')).toEqual(['customers.name']);
  });

  it('a view over a view', () => {
    expect(only('SELECT contact_upper FROM contact_summary')).toEqual(['customers.email']);
  });

  it('a view’s own predicates are not the statement’s', () => {
    const result = analyse('SELECT name FROM filtered_customers');
    expect(result.outputs?.map(render)).toEqual([['customers.name']]);
    expect(render(result.predicates)).toEqual([]);
  });

  it('a cycle, a view that does not parse, and nesting beyond 16 are opaque', () => {
    expect(only('SELECT x FROM loop_a')).toEqual(['OPAQUE']);
    expect(only('SELECT x FROM broken_view')).toEqual(['OPAQUE']);
    expect(only('SELECT ssn FROM deep_19')).toContain('OPAQUE');
    expect(only('SELECT ssn FROM deep_10')).toEqual(['customers.ssn']);
  });

  it('a view defined with *', () => {
    expect(outputs('SELECT ssn, email FROM star_view')).toEqual([['customers.ssn'], ['customers.email']]);
  });
});

describe('data-modifying statements', () => {
  it('INSERT without RETURNING has no result columns', () => {
    expect(analyse("INSERT INTO orders (note) VALUES ('x')").outputs).toEqual([]);
  });

  it('INSERT … RETURNING *: the target’s columns', () => {
    expect(outputs("INSERT INTO orders (note) VALUES ('x') RETURNING *")).toEqual([
      ['orders.id'],
      ['orders.customer_id'],
      ['orders.total'],
      ['orders.note'],
    ]);
  });

  it('INSERT … SELECT … RETURNING: the target column and what was written into it', () => {
    expect(only('INSERT INTO orders (note) SELECT ssn FROM customers RETURNING note')).toEqual([
      'customers.ssn',
      'orders.note',
    ]);
    expect(predicates("INSERT INTO orders (note) SELECT name FROM customers WHERE ssn = '1'")).toEqual([
      'customers.ssn',
    ]);
  });

  it('UPDATE … RETURNING: the new value; WHERE is a predicate', () => {
    const sql = "UPDATE customers SET notes = ssn WHERE phone LIKE '+1%' RETURNING notes, email";
    expect(outputs(sql)).toEqual([['customers.notes', 'customers.ssn'], ['customers.email']]);
    expect(predicates(sql)).toEqual(['customers.phone']);
  });

  it('UPDATE … FROM … RETURNING * includes the FROM items', () => {
    const result = outputs(
      'UPDATE orders o SET note = c.name FROM customers c WHERE o.customer_id = c.id RETURNING *',
    );
    expect(result?.length).toBe(11);
    expect(result?.[3]).toEqual(['customers.name', 'orders.note']);
  });

  it('DELETE … RETURNING', () => {
    const sql = "DELETE FROM customers WHERE ssn = '1' RETURNING email";
    expect(outputs(sql)).toEqual([['customers.email']]);
    expect(predicates(sql)).toEqual(['customers.ssn']);
  });

  it('ON CONFLICT DO UPDATE: EXCLUDED and the SET expressions; its WHERE is a predicate', () => {
    const sql =
      "INSERT INTO customers (id, notes) VALUES (1, 'n') ON CONFLICT (id) DO UPDATE SET notes = excluded.notes || customers.ssn WHERE customers.phone IS NULL RETURNING notes";
    expect(outputs(sql)).toEqual([['customers.notes', 'customers.ssn']]);
    expect(predicates(sql)).toEqual(['customers.phone']);
  });

  it('RETURNING old and new rows', () => {
    expect(outputs('UPDATE customers SET notes = ssn RETURNING old.notes, new.notes')).toEqual([
      ['customers.notes', 'customers.ssn'],
      ['customers.notes', 'customers.ssn'],
    ]);
  });

  it('MERGE … RETURNING', () => {
    const sql =
      'MERGE INTO orders o USING customers c ON o.customer_id = c.id WHEN MATCHED THEN UPDATE SET note = c.ssn RETURNING o.note, c.email';
    expect(outputs(sql)).toEqual([['customers.ssn', 'orders.note'], ['customers.email']]);
    expect(predicates(sql)).toEqual(['customers.id', 'orders.customer_id']);
  });
});

describe('other statements', () => {
  it('COPY table TO STDOUT, with and without a column list', () => {
    expect(outputs('COPY customers TO STDOUT')).toEqual(CUSTOMER_COLUMNS.map((c) => [`customers.${c}`]));
    expect(outputs('COPY customers (ssn, email) TO STDOUT')).toEqual([
      ['customers.ssn'],
      ['customers.email'],
    ]);
  });

  it('COPY (query) TO STDOUT', () => {
    expect(outputs('COPY (SELECT lower(ssn) FROM customers) TO STDOUT')).toEqual([['customers.ssn']]);
  });

  it('EXPLAIN [ANALYZE]: one column without sources; the explained predicates', () => {
    for (const sql of [
      "EXPLAIN SELECT ssn FROM customers WHERE email = 'x'",
      "EXPLAIN ANALYZE SELECT ssn FROM customers WHERE email = 'x'",
    ]) {
      expect(outputs(sql)).toEqual([[]]);
      expect(predicates(sql)).toEqual(['customers.email']);
    }
  });

  it('DECLARE gives the cursor query’s lineage; FETCH and EXECUTE are for the caller', () => {
    expect(outputs('DECLARE c CURSOR FOR SELECT ssn FROM customers')).toEqual([['customers.ssn']]);
    for (const sql of ['FETCH 10 FROM c', 'EXECUTE p(1)']) {
      const result = analyse(sql);
      expect(result.outputs).toBeNull();
      expect(result.anyOutput.opaque).toBe(true);
    }
  });

  it('SHOW, SET and MOVE return no table data', () => {
    for (const sql of ['SHOW search_path', "SET search_path = 'public'", 'MOVE 1 IN c', 'BEGIN']) {
      expect(analyse(sql)).toEqual({
        outputs: null,
        anyOutput: { sources: [], opaque: false },
        predicates: { sources: [], opaque: false },
      });
    }
  });

  it('a statement not modelled is opaque', () => {
    const result = analyse("DO $$ BEGIN RAISE NOTICE 'x'; END $$");
    expect(result.outputs).toBeNull();
    expect(result.anyOutput.opaque).toBe(true);
  });

  it('SELECT INTO has no result columns', () => {
    expect(analyse('SELECT ssn INTO scratch_copy FROM customers').outputs).toEqual([]);
  });
});

describe('what cannot be traced is opaque', () => {
  it('an unknown relation', () => {
    expect(only('SELECT a FROM nowhere')).toEqual(['OPAQUE']);
    const star = analyse('SELECT * FROM nowhere');
    expect(star.outputs).toBeNull();
    expect(star.anyOutput.opaque).toBe(true);
  });

  it('an unqualified name that no known item has, with an unknown item in scope', () => {
    expect(only('SELECT email FROM customers, nowhere')).toEqual(['customers.email']);
    expect(only('SELECT zzz FROM customers, nowhere')).toEqual(['OPAQUE']);
  });

  it('a user-defined function, qualified or not', () => {
    expect(only('SELECT my_mask(email) FROM customers')).toEqual(['customers.email', 'OPAQUE']);
    expect(only('SELECT public.lower(email) FROM customers')).toEqual(['customers.email', 'OPAQUE']);
  });

  it('pg_catalog functions that read data by themselves', () => {
    expect(only("SELECT query_to_xml('select ssn from customers', true, true, '')")).toEqual(['OPAQUE']);
    expect(only("SELECT pg_read_file('/etc/passwd')")).toEqual(['OPAQUE']);
    expect(only("SELECT current_setting('search_path')")).toEqual([]);
  });

  it('a search_path that puts a schema before pg_catalog may shadow built-ins', () => {
    expect(only('SELECT lower(nickname) FROM customers', ['app', 'pg_catalog', 'public'])).toEqual([
      'app.customers.nickname',
      'OPAQUE',
    ]);
  });

  it('an operator qualified outside pg_catalog', () => {
    expect(only('SELECT ssn OPERATOR(public.+) 1 FROM customers')).toEqual(['customers.ssn', 'OPAQUE']);
    expect(only("SELECT ssn OPERATOR(pg_catalog.||) 'x' FROM customers")).toEqual(['customers.ssn']);
  });

  it('attribute notation that may call a function', () => {
    expect(only('SELECT c.reveal FROM customers c')).toContain('OPAQUE');
    expect(only('SELECT (c).reveal FROM customers c')).toContain('OPAQUE');
  });
});

describe('name resolution', () => {
  it('the first search_path schema that has the relation wins', () => {
    expect(outputs('SELECT * FROM customers', ['app', 'public'])).toEqual([
      ['app.customers.id'],
      ['app.customers.nickname'],
    ]);
    expect(only('SELECT email FROM customers', ['app', 'public'])).toEqual(['OPAQUE']);
    expect(only('SELECT email FROM public.customers', ['app', 'public'])).toEqual(['customers.email']);
    expect(only('SELECT email FROM customers', ['nothing_here', 'public'])).toEqual(['customers.email']);
  });

  it('the temporary schema comes first', () => {
    expect(only('SELECT secret FROM scratch')).toEqual(['pg_temp.scratch.secret']);
  });
});

describe('predicates', () => {
  it.each([
    ["SELECT name FROM customers WHERE ssn LIKE '1%'", ['customers.ssn']],
    [
      'SELECT c.name FROM customers c JOIN orders o ON o.customer_id = c.id',
      ['customers.id', 'orders.customer_id'],
    ],
    ['SELECT name FROM customers JOIN orders USING (id)', ['customers.id', 'orders.id']],
    ['SELECT name FROM customers ORDER BY ssn', ['customers.ssn']],
    ['SELECT name, ssn FROM customers ORDER BY 2', ['customers.ssn']],
    ['SELECT name, lower(ssn) AS s FROM customers ORDER BY s', ['customers.ssn']],
    ['SELECT count(*) FROM customers GROUP BY phone', ['customers.phone']],
    ['SELECT phone, count(*) FROM customers GROUP BY 1', ['customers.phone']],
    ['SELECT count(*) FROM customers GROUP BY ROLLUP (phone, email)', ['customers.email', 'customers.phone']],
    [
      'SELECT phone FROM customers GROUP BY phone HAVING max(card_number) > 1',
      ['customers.card_number', 'customers.phone'],
    ],
    ['SELECT row_number() OVER (PARTITION BY ssn) FROM customers', ['customers.ssn']],
    ['SELECT DISTINCT ON (ssn) name FROM customers', ['customers.ssn']],
    ["SELECT count(*) FILTER (WHERE email LIKE '%@x') FROM customers", ['customers.email']],
    ['SELECT name FROM customers LIMIT 5 OFFSET 2', []],
    ['SELECT name FROM customers WINDOW w AS (ORDER BY card_number)', ['customers.card_number']],
    [
      "SELECT name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND c.ssn LIKE '1%')",
      ['customers.id', 'customers.ssn', 'orders.customer_id'],
    ],
    [
      'SELECT name FROM customers WHERE id IN (SELECT customer_id FROM orders)',
      ['customers.id', 'orders.customer_id'],
    ],
    ["SELECT s FROM (SELECT name AS s FROM customers WHERE ssn = '1') x", ['customers.ssn']],
    ["WITH x AS (SELECT name FROM customers WHERE ssn = '1') SELECT name FROM x", ['customers.ssn']],
    ["SELECT (SELECT max(total) FROM orders WHERE note = 'x')", ['orders.note']],
    [
      'SELECT email FROM customers UNION SELECT note FROM orders ORDER BY 1',
      ['customers.email', 'orders.note'],
    ],
  ])('%s', (sql, expected) => {
    expect(predicates(sql)).toEqual(expected);
  });

  it('the result columns of a predicate-only statement are not predicates', () => {
    expect(anyOutput("SELECT name FROM customers WHERE ssn = '1'")).toEqual(['customers.name']);
  });
});

describe('robustness', () => {
  it('never throws on parse trees of unexpected shape', () => {
    const trees: Record<string, unknown>[] = [
      {},
      { SelectStmt: { targetList: 5 } },
      { SelectStmt: { fromClause: [{ JoinExpr: {} }], targetList: [{ ResTarget: {} }] } },
      {
        SelectStmt: {
          targetList: [{ ResTarget: { val: { ColumnRef: { fields: [{ A_Star: {} }, { A_Star: {} }] } } } }],
        },
      },
      { InsertStmt: {} },
      { CopyStmt: {} },
      { Unknown: null },
    ];
    for (const tree of trees) {
      const result = statementLineage(tree, ['public'], CATALOG);
      expect(result.outputs === null || Array.isArray(result.outputs)).toBe(true);
    }
  });

  it('a statement beyond the work budget is opaque, and fast', () => {
    let sql = 'SELECT ssn AS x FROM customers';
    for (let depth = 1; depth <= 16; depth++) {
      sql = `WITH RECURSIVE r${depth}(x) AS (SELECT x FROM (${sql}) s UNION ALL SELECT x FROM r${depth}) SELECT x FROM r${depth}`;
    }
    const started = Date.now();
    const result = analyse(sql);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.outputs).toBeNull();
    expect(result.anyOutput.opaque).toBe(true);
  });

  it('a catalog that throws gives opaque lineage', () => {
    const parsed = parseSqlStatements('SELECT ssn FROM customers');
    if (!parsed.ok || parsed.stmts[0] === undefined) throw new Error('parse');
    const failing: CatalogSnapshot = {
      relation: () => {
        throw new Error('catalog unavailable');
      },
    };
    const result = statementLineage(parsed.stmts[0].node, ['public'], failing);
    expect(result.outputs).toBeNull();
    expect(result.anyOutput.opaque).toBe(true);
  });
});
