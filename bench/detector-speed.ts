/**
 * `npm run bench:detector-speed`: nanoseconds per value for content detection (findSensitive with every
 * class, as a role that enables all of them pays per text cell), on clean and dirty values of typical
 * shapes, and for scrubText on the same mix.
 */
import { findSensitive } from '../src/masking/detect-sensitive.js';
import { scrubText } from '../src/masking/mask-text.js';
import { SENSITIVE_CLASSES } from '../src/masking/sensitive-class.js';

const GROUPS: Record<string, readonly string[]> = {
  'clean short (names, statuses)': [
    'Alice Smith',
    'shipped',
    'Paris',
    'true',
    'pending review',
    'Müller GmbH',
  ],
  'clean numbers, dates, ids': [
    '2024-01-15',
    '2024-01-15T10:22:03.123Z',
    '550e8400-e29b-41d4-a716-446655440000',
    'Order #100234987',
    '$1,299.99',
    '1705312800123',
  ],
  'clean prose (~120 chars)': [
    'Please review the attached quarterly report before Monday; the numbers for Q3 look better than expected.',
    'Customer says the parcel arrived damaged on 2024-03-02 and asks for a replacement of item 4 of 7, size M.',
  ],
  'dirty whole values': [
    'jane.doe@example.com',
    '(415) 555-0123',
    '123-45-6789',
    '4111 1111 1111 1111',
    'GB82 WEST 1234 5698 7654 32',
    '203.0.113.7',
    'AKIAIOSFODNN7EXAMPLE',
  ],
  'dirty prose (~120 chars)': [
    'Please contact jane.doe@example.com or call +44 20 7946 0958 about the refund to DE89 3704 0044 0532 0130 00.',
    'Login from 198.51.100.23 with token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJlLXRlc3Q ok',
  ],
};

const ALL = new Set(SENSITIVE_CLASSES);
const ROUNDS = 200_000;

function nsPerValue(values: readonly string[], run: (value: string) => unknown): number {
  for (let i = 0; i < 20_000; i++) run(values[i % values.length]!);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) run(values[i % values.length]!);
  return Number(process.hrtime.bigint() - start) / ROUNDS;
}

const rows = [['values', 'findSensitive ns/value', 'scrubText ns/value']];
for (const [name, values] of Object.entries(GROUPS)) {
  rows.push([
    name,
    nsPerValue(values, (value) => findSensitive(value, ALL)).toFixed(0),
    nsPerValue(values, (value) => scrubText(value, ALL, 'partial', undefined)).toFixed(0),
  ]);
}
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
for (const row of rows) {
  process.stdout.write(
    `${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')}\n`,
  );
}
process.stdout.write(
  `\n${ROUNDS} values per cell, every class enabled; target: clean short values well under 1000 ns.\n`,
);
