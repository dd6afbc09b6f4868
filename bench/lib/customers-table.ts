/** A `customers` table at scale with realistic personal-data shapes, generated inside PostgreSQL. */

const FIRST_NAMES = [
  'James',
  'Mary',
  'Robert',
  'Patricia',
  'John',
  'Jennifer',
  'Michael',
  'Linda',
  'David',
  'Elizabeth',
  'William',
  'Barbara',
  'Richard',
  'Susan',
  'Joseph',
  'Jessica',
  'Thomas',
  'Sarah',
  'Carlos',
  'Aiko',
];
const LAST_NAMES = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Rodriguez',
  'Martinez',
  'Hernandez',
  'Lopez',
  'Gonzalez',
  'Wilson',
  'Anderson',
  'Thomas',
  'Taylor',
  'Moore',
  'Jackson',
  'Tanaka',
];
const CITIES = ['San Francisco', 'Oakland', 'San Jose', 'Berkeley', 'Palo Alto', 'Fremont', 'Sacramento'];
// Free text without personal data; every tenth row gets a note with an email or a phone instead.
const PLAIN_NOTES = [
  'Prefers delivery in the morning.',
  'Loyalty tier upgraded after the spring campaign.',
  'Asked about bulk pricing for office supplies.',
  'Returned one item, refund issued.',
  'No special instructions.',
];

function sqlArray(values: readonly string[]): string {
  return `ARRAY[${values.map((value) => `'${value.replaceAll("'", "''")}'`).join(', ')}]`;
}

// Luhn check digit over the body: from the right, every other digit starting with the last one is
// doubled (minus 9 above 9), so the full number passes the Luhn test.
const LUHN_FUNCTION = `CREATE FUNCTION pg_temp.with_luhn_digit(body text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT body || ((10 - sum(CASE WHEN (length(body) - k) % 2 = 0
                                 THEN d * 2 - CASE WHEN d > 4 THEN 9 ELSE 0 END
                                 ELSE d END) % 10) % 10)::text
  FROM (SELECT k, substr(body, k, 1)::int AS d FROM generate_series(1, length(body)) AS k) AS digits
$$`;

/**
 * One statement list (run in one session) that creates `public.customers` and fills it with `rows`
 * rows: emails `first.last<i>@example.com`, phones `+1 415 555 01xx`, SSNs in the issued ranges
 * (area 001–899 without 666, group 01–99, serial 0001–9999), Luhn-valid 16-digit card numbers
 * starting with 4, and notes of which one in ten carries an email or a phone inside the text.
 */
export function customersTableSql(rows: number): string {
  return `${LUHN_FUNCTION};
CREATE TABLE public.customers (
  id int PRIMARY KEY,
  full_name text NOT NULL,
  email text NOT NULL,
  phone text NOT NULL,
  ssn text NOT NULL,
  card_number text NOT NULL,
  city text NOT NULL,
  notes text NOT NULL
);
INSERT INTO public.customers
SELECT i,
       n.first || ' ' || n.last,
       lower(n.first) || '.' || lower(n.last) || i || '@example.com',
       '+1 415 555 01' || lpad((i % 100)::text, 2, '0'),
       lpad(s.area::text, 3, '0') || '-' || lpad((1 + (i / 7) % 99)::text, 2, '0') || '-' || lpad((1 + i % 9999)::text, 4, '0'),
       pg_temp.with_luhn_digit('4' || lpad(i::text, 14, '0')),
       (${sqlArray(CITIES)})[1 + i % ${CITIES.length}],
       CASE
         WHEN i % 20 = 0 THEN 'Asked to be emailed at ' || lower(n.last) || '.home' || i || '@example.org after 5pm.'
         WHEN i % 20 = 10 THEN 'Call back on +1 415 555 01' || lpad((i % 97)::text, 2, '0') || ' about the refund.'
         ELSE (${sqlArray(PLAIN_NOTES)})[1 + i % ${PLAIN_NOTES.length}]
       END
FROM generate_series(1, ${rows}) AS i,
     LATERAL (SELECT (${sqlArray(FIRST_NAMES)})[1 + i % ${FIRST_NAMES.length}] AS first,
                     (${sqlArray(LAST_NAMES)})[1 + (i / ${FIRST_NAMES.length}) % ${LAST_NAMES.length}] AS last) AS n,
     LATERAL (SELECT CASE WHEN a >= 666 THEN a + 1 ELSE a END AS area FROM (SELECT 1 + (i * 7) % 898 AS a) AS r) AS s`;
}
