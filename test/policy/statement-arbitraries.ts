/**
 * fast-check generators of SQL text for the policy property tests: statements from a small grammar
 * (random identifiers — plain, mixed case, quoted with any characters, Unicode-escaped — random function
 * names, random statement kinds), garbage token soup, truncations and multi-statement messages; and
 * random SELECTs over subsets of allowed and forbidden tables with a known expected decision.
 */
import fc from 'fast-check';

/** Tables analyst may read (select only). */
export const ANALYST_READABLE = ['orders', 'customers', 'order_items', 'order_summary'] as const;

/** Spellings of tables analyst may read, each resolving to public.<one of ANALYST_READABLE>. */
const READABLE_SPELLINGS = [
  'orders',
  'ORDERS',
  'public.orders',
  '"orders"',
  'Public.Customers',
  'customers',
  'order_items',
  '"public"."order_items"',
  'order_summary',
  'U&"ord\\0065rs"',
] as const;

/** Spellings of relations analyst may not read. */
const FORBIDDEN_SPELLINGS = [
  'secrets',
  'public.secrets',
  '"secrets"',
  'SECRETS',
  'U&"sec\\0072ets"',
  '"Orders"',
  'public."Orders"',
  'audit.log',
  'scratch.notes',
  'pg_catalog.pg_authid',
  'pg_class',
  'public.pg_class',
  'pg_temp.orders',
  'information_schema.tables',
] as const;

const KNOWN_FUNCTIONS = [
  'count',
  'lower',
  'upper',
  'now',
  'md5',
  'coalesce',
  'length',
  'generate_series',
  'pg_sleep',
  'pg_read_file',
  'pg_ls_dir',
  'set_config',
  'current_setting',
  'nextval',
  'setval',
  'lo_import',
  'lo_export',
  'dblink',
  'dblink_exec',
  'pg_terminate_backend',
  'query_to_xml',
  'order_total',
  'public.order_total',
  'pg_catalog.pg_sleep',
  'public.lower',
] as const;

/** Functions that must never be allowed, whatever the role. */
export const DANGEROUS_FUNCTIONS: ReadonlySet<string> = new Set([
  'pg_sleep',
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'set_config',
  'current_setting',
  'nextval',
  'setval',
  'lo_import',
  'lo_export',
  'dblink',
  'dblink_exec',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'query_to_xml',
  'table_to_xml',
  'database_to_xml',
  'pg_reload_conf',
]);

const plainIdentifier = fc.stringMatching(/^[a-z_][a-z0-9_]{0,12}$/);

const mixedCase = plainIdentifier.chain((name) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch)).join('')),
);

/** Any text (no NUL: the protocol cannot carry it) as a quoted identifier. */
const quotedIdentifier = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
  .filter((text) => !text.includes('\u0000'))
  .map((text) => `"${text.replaceAll('"', '""')}"`);

/** A Unicode-escaped identifier spelling random text (or a known table name). */
const unicodeIdentifier = fc
  .oneof(
    fc.constantFrom('secrets', 'orders', 'pg_sleep', 'customers'),
    fc.string({ minLength: 1, maxLength: 8 }),
  )
  .filter((text) => !text.includes('\u0000') && text.length > 0)
  .chain((text) =>
    fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }).map((escaped) => {
      const body = [...text]
        .map((ch, i) => {
          const code = ch.codePointAt(0) ?? 0x3f;
          if (escaped[i] || ch === '"' || ch === '\\' || code > 0x7e || code < 0x20) {
            return code > 0xffff
              ? `\\+${code.toString(16).padStart(6, '0')}`
              : `\\${code.toString(16).padStart(4, '0')}`;
          }
          return ch;
        })
        .join('');
      return `U&"${body}"`;
    }),
  );

/** A relation name as an agent might write it. */
export const relationName: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...READABLE_SPELLINGS, ...FORBIDDEN_SPELLINGS) },
  { weight: 2, arbitrary: plainIdentifier },
  { weight: 1, arbitrary: mixedCase },
  { weight: 1, arbitrary: quotedIdentifier },
  { weight: 1, arbitrary: unicodeIdentifier },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.oneof(fc.constantFrom('public', 'scratch', 'audit', 'pg_catalog', 'pg_temp'), plainIdentifier),
        plainIdentifier,
      )
      .map(([schema, name]) => `${schema}.${name}`),
  },
);

const functionName: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN_FUNCTIONS) },
  { weight: 1, arbitrary: plainIdentifier },
  { weight: 1, arbitrary: quotedIdentifier },
  { weight: 1, arbitrary: unicodeIdentifier },
);

const literal: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: -5, max: 100 }).map(String),
  fc.string({ maxLength: 10 }).map((s) => `'${s.replaceAll("'", "''").replaceAll('\u0000', '')}'`),
  fc.constantFrom('null', 'true', "'/etc/passwd'", "'select * from secrets'", '$$x$$', "E'\\\\'"),
);

const functionCall: fc.Arbitrary<string> = fc
  .tuple(functionName, fc.array(literal, { maxLength: 3 }))
  .map(([name, args]) => `${name}(${args.join(', ')})`);

const expression: fc.Arbitrary<string> = fc.oneof(literal, functionCall, fc.constantFrom('*', 'id', '1 + 1'));

const settingName = fc.oneof(
  fc.constantFrom(
    'search_path',
    'role',
    'session_authorization',
    'default_transaction_read_only',
    'statement_timeout',
    'application_name',
    'work_mem',
    'transaction_read_only',
  ),
  plainIdentifier,
);

/** One statement of a random kind. */
export const statement: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.array(expression, { minLength: 1, maxLength: 3 }),
      fc.option(relationName),
      fc.option(expression),
    )
    .map(
      ([columns, from, where]) =>
        `select ${columns.join(', ')}${from === null ? '' : ` from ${from}`}${where === null ? '' : ` where ${where} is not null`}`,
    ),
  fc
    .tuple(relationName, fc.array(literal, { minLength: 1, maxLength: 3 }))
    .map(([table, values]) => `insert into ${table} values (${values.join(', ')})`),
  fc.tuple(relationName, literal).map(([table, value]) => `update ${table} set id = ${value}`),
  relationName.map((table) => `delete from ${table}`),
  relationName.map((table) => `drop table ${table}`),
  relationName.map((table) => `create table ${table} (id int)`),
  relationName.map((table) => `truncate ${table}`),
  relationName.map((table) => `lock table ${table}`),
  relationName.map((table) => `select * from ${table} for update`),
  relationName.map((table) => `copy ${table} to stdout`),
  relationName.map((table) => `copy ${table} to program 'id'`),
  fc.tuple(settingName, literal).map(([name, value]) => `set ${name} = ${value}`),
  functionCall.map((call) => `select * from ${call}`),
  functionCall.map((call) => `select ${call}`),
  relationName.map((table) => `with x as (delete from ${table} returning *) select * from x`),
  relationName.map((table) => `explain analyze delete from ${table}`),
  relationName.map((table) => `do $$ begin delete from ${table}; end $$`),
  fc.tuple(plainIdentifier, relationName).map(([name, table]) => `prepare ${name} as select * from ${table}`),
  plainIdentifier.map((name) => `execute ${name}`),
  fc.constantFrom(
    'begin',
    'commit',
    'rollback',
    'begin read write',
    'reset all',
    'show search_path',
    'vacuum',
    'listen x',
  ),
);

const GARBAGE_TOKENS = [
  'select',
  'from',
  'where',
  'insert',
  'into',
  'delete',
  'drop',
  'table',
  'secrets',
  'orders',
  '(',
  ')',
  ',',
  ';',
  "'",
  '"',
  '$$',
  '$a$',
  '/*',
  '*/',
  '--',
  '\n',
  'U&"',
  '\\',
  '*',
  '=',
  '1',
  'as',
  'union',
  'with',
  'returning',
  'set',
  'role',
  'copy',
  'program',
  'do',
  "E'",
  '::',
  '[',
  ']',
];

/** Token soup: mostly unparseable. */
export const garbage: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...GARBAGE_TOKENS), plainIdentifier), { minLength: 1, maxLength: 12 })
  .map((tokens) => tokens.join(' '));

/** A message an agent might send: statements, several statements, truncated statements, garbage. */
export const message: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: statement },
  {
    weight: 2,
    arbitrary: fc.array(statement, { minLength: 2, maxLength: 3 }).map((list) => list.join('; ')),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(statement, fc.nat())
      .map(([text, cut]) => text.slice(0, text.length === 0 ? 0 : cut % text.length)),
  },
  { weight: 2, arbitrary: garbage },
  {
    weight: 1,
    arbitrary: fc.tuple(statement, garbage).map(([text, tail]) => `${text}; ${tail}`),
  },
);

/** A table for the SELECT-subset property, with whether analyst may read it. */
export interface SpelledTable {
  readonly spelling: string;
  readonly readable: boolean;
}

const spelledTable: fc.Arbitrary<SpelledTable> = fc.oneof(
  fc.constantFrom(...READABLE_SPELLINGS).map((spelling) => ({ spelling, readable: true })),
  fc.constantFrom(...FORBIDDEN_SPELLINGS).map((spelling) => ({ spelling, readable: false })),
);

type Shape = 'comma' | 'join' | 'exists' | 'in' | 'cte' | 'union' | 'lateral' | 'scalar' | 'derived';
const SHAPES: readonly Shape[] = [
  'comma',
  'join',
  'exists',
  'in',
  'cte',
  'union',
  'lateral',
  'scalar',
  'derived',
];

/** Combines two table-reading queries into one (both still read their tables). */
function combine(shape: Shape, left: string, right: string, depth: number): string {
  const a = `a${depth}`;
  const b = `b${depth}`;
  switch (shape) {
    case 'comma':
      return `select 1 from (${left}) ${a}, (${right}) ${b}`;
    case 'join':
      return `select 1 from (${left}) ${a} join (${right}) ${b} on true`;
    case 'exists':
      return `select 1 from (${left}) ${a} where exists (${right})`;
    case 'in':
      return `select 1 from (${left}) ${a} where 1 in (select 1 from (${right}) ${b})`;
    case 'cte':
      return `with c${depth}_l as (${left}), c${depth}_r as (${right}) select 1 from c${depth}_l, c${depth}_r`;
    case 'union':
      return `select 1 from (${left}) ${a} union all select 1 from (${right}) ${b}`;
    case 'lateral':
      return `select 1 from (${left}) ${a} cross join lateral (${right}) ${b}`;
    case 'scalar':
      return `select (select count(*) from (${left}) ${a}), (select count(*) from (${right}) ${b})`;
    case 'derived':
      return `select * from (select 1 from (${left}) ${a} where exists (${right})) ${b}`;
  }
}

/** A SELECT reading a random non-empty list of tables through random shapes, and whether it reads only allowed ones. */
export const selectOverTables: fc.Arbitrary<{ readonly sql: string; readonly readsOnlyAllowed: boolean }> = fc
  .tuple(
    fc.array(spelledTable, { minLength: 1, maxLength: 5 }),
    fc.array(fc.constantFrom(...SHAPES), { minLength: 4, maxLength: 4 }),
  )
  .map(([tables, shapes]) => {
    let sql = `select 1 from ${tables[0]!.spelling} t0`;
    tables.slice(1).forEach((table, index) => {
      sql = combine(
        shapes[index % shapes.length]!,
        sql,
        `select 1 from ${table.spelling} t${index + 1}`,
        index,
      );
    });
    return { sql, readsOnlyAllowed: tables.every((table) => table.readable) };
  });
