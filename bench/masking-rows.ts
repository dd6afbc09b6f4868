/**
 * `npm run bench:masking-rows`: nanoseconds per row for the gateway's result masking alone (no sockets,
 * no PostgreSQL), over synthetic rows shaped like bench/masking-stream.ts's customers table, streamed as
 * DataRow and as text-format COPY in 64 KiB chunks. With `--baseline <dir>` (a checkout of another
 * commit, e.g. `git worktree add /tmp/base <commit>`), the same workloads run through that tree's code
 * too, alternating in this one process, so the comparison does not depend on how busy the machine is.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { MaskStrategy } from '../src/masking/mask-strategy.js';
import type { SensitiveClass } from '../src/masking/sensitive-class.js';
import type {
  CopyPlan,
  ResultColumn,
  ResultPlan,
  SessionResultMasking,
  ValueMask,
} from '../src/proxy/result-masking.js';
import { encodeQuery } from '../src/wire/postgres/frontend-encoders.js';
import { encodeMessage } from '../src/wire/postgres/message-writer.js';
import { Backend } from '../src/wire/postgres/protocol-constants.js';
import { encodeDataRow } from '../src/wire/postgres/result-messages.js';

const USAGE = `Usage: npm run bench:masking-rows -- [--rows <n>] [--rounds <n>] [--baseline <dir>]
  --rows      synthetic customers rows per pass (default 200000)
  --rounds    timed passes per cell; the best counts (default 5)
  --baseline  another checkout of this repository whose masking code runs the same workloads
  --only      one cell, e.g. SELECT/masked (for node --cpu-prof)`;

/** The modules of one tree that the workloads use. */
interface Tree {
  readonly name: string;
  readonly ResultMasker: new (
    masking: SessionResultMasking,
  ) => {
    outgoing(bytes: Buffer): Buffer;
    incoming(chunk: Buffer): Buffer;
  };
  readonly wholeValueMask: (
    strategy: MaskStrategy,
    cls: SensitiveClass | undefined,
    typeOid: number,
    binary: boolean,
    hashKey: Uint8Array | undefined,
  ) => ValueMask;
  readonly contentScanMask: (
    classes: ReadonlyMap<SensitiveClass, MaskStrategy>,
    typeOid: number,
    binary: boolean,
    hashKey: Uint8Array | undefined,
  ) => ValueMask | undefined;
}

async function loadTree(name: string, root: string): Promise<Tree> {
  const load = (file: string) => import(pathToFileURL(path.join(root, file)).href);
  const masker = await load('src/proxy/postgres/result-masker.ts');
  const masks = await load('src/masking/value-masks.ts');
  return {
    name,
    ResultMasker: masker.ResultMasker,
    wholeValueMask: masks.wholeValueMask,
    contentScanMask: masks.contentScanMask,
  };
}

const TEXT = 25;
const INT4 = 23;
const COLUMNS = ['id', 'full_name', 'email', 'phone', 'ssn', 'card_number', 'city', 'notes'];
const FIRST = ['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Carlos', 'Aiko'];
const LAST = ['Smith', 'Johnson', 'Garcia', 'Miller', 'Davis', 'Tanaka', 'Lopez', 'Moore'];
const CITIES = ['San Francisco', 'Oakland', 'San Jose', 'Berkeley', 'Palo Alto', 'Fremont', 'Sacramento'];
const NOTES = [
  'Prefers delivery in the morning.',
  'Loyalty tier upgraded after the spring campaign.',
  'Asked about bulk pricing for office supplies.',
  'Returned one item, refund issued.',
  'No special instructions.',
];

function withLuhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let digit = body.charCodeAt(body.length - 1 - i) - 48;
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

/** Row `i` of the customers table, as bench/lib/customers-table.ts generates it (in the same shapes). */
function customer(i: number): string[] {
  const first = FIRST[i % FIRST.length]!;
  const last = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  const area = 1 + ((i * 7) % 898);
  const notes =
    i % 20 === 0
      ? `Asked to be emailed at ${last.toLowerCase()}.home${i}@example.org after 5pm.`
      : i % 20 === 10
        ? `Call back on +1 415 555 01${pad(i % 97, 2)} about the refund.`
        : NOTES[i % NOTES.length]!;
  return [
    String(i),
    `${first} ${last}`,
    `${first.toLowerCase()}.${last.toLowerCase()}${i}@example.com`,
    `+1 415 555 01${pad(i % 100, 2)}`,
    `${pad(area >= 666 ? area + 1 : area, 3)}-${pad(1 + (Math.floor(i / 7) % 99), 2)}-${pad(1 + (i % 9999), 4)}`,
    withLuhnDigit(`4${pad(i, 14)}`),
    CITIES[i % CITIES.length]!,
    notes,
  ];
}

/** `messages` concatenated and cut into chunks of `size` bytes, as a socket delivers them. */
function chunked(messages: readonly Buffer[], size: number): Buffer[] {
  const all = Buffer.concat(messages);
  const chunks: Buffer[] = [];
  for (let at = 0; at < all.length; at += size) chunks.push(all.subarray(at, at + size));
  return chunks;
}

function rowDescription(): Buffer {
  const parts: Buffer[] = [Buffer.from([0, COLUMNS.length])];
  COLUMNS.forEach((name, i) => {
    const field = Buffer.alloc(18);
    field.writeInt32BE(16400, 0);
    field.writeInt16BE(i + 1, 4);
    field.writeInt32BE(i === 0 ? INT4 : TEXT, 6);
    field.writeInt16BE(-1, 10);
    field.writeInt32BE(-1, 12);
    parts.push(Buffer.from(`${name}\0`, 'utf8'), field);
  });
  return encodeMessage(Backend.RowDescription, Buffer.concat(parts));
}

function commandComplete(tag: string): Buffer {
  return encodeMessage(Backend.CommandComplete, Buffer.from(`${tag}\0`, 'utf8'));
}

const READY = encodeMessage(Backend.ReadyForQuery, Buffer.from('I'));

/** The masks of one role of bench/masking-stream.ts, per column. */
function roleMasks(tree: Tree, role: 'plain' | 'columns' | 'masked'): (ValueMask | undefined)[] {
  if (role === 'plain') return COLUMNS.map(() => undefined);
  const scan: ReadonlyMap<SensitiveClass, MaskStrategy> =
    role === 'masked'
      ? new Map<SensitiveClass, MaskStrategy>([
          ['email', 'redact'],
          ['phone', 'redact'],
          ['credit_card', 'redact'],
        ])
      : new Map();
  return COLUMNS.map((name, i) => {
    if (name === 'email') return tree.wholeValueMask('partial', undefined, TEXT, false, undefined);
    if (name === 'ssn') return tree.wholeValueMask('redact', undefined, TEXT, false, undefined);
    return tree.contentScanMask(scan, i === 0 ? INT4 : TEXT, false, undefined);
  });
}

/** A session whose every result is planned with `masks`, for rows and for COPY. */
function sessionWith(masks: readonly (ValueMask | undefined)[]): SessionResultMasking {
  const any = masks.some((mask) => mask !== undefined);
  return {
    planRows: (_sql: string, _index: number, _columns: readonly ResultColumn[]): ResultPlan | undefined =>
      any ? { columns: masks } : undefined,
    planCopy: (): CopyPlan | undefined =>
      any ? { columns: masks, delimiter: '\t', nullText: '\\N', csv: undefined } : undefined,
    scrubText: (text) => text,
  };
}

interface Workload {
  readonly name: string;
  readonly sql: string;
  readonly chunks: readonly Buffer[];
}

function workloads(rows: number): Workload[] {
  const data: Buffer[] = [rowDescription()];
  const copy: Buffer[] = [
    encodeMessage(
      Backend.CopyOutResponse,
      Buffer.from([0, 0, COLUMNS.length, ...COLUMNS.flatMap(() => [0, 0])]),
    ),
  ];
  for (let i = 1; i <= rows; i++) {
    const values = customer(i);
    data.push(encodeDataRow(values.map((value) => Buffer.from(value, 'utf8'))));
    // The server sends one CopyData per row; many rows share a socket read.
    copy.push(encodeMessage(Backend.CopyData, Buffer.from(`${values.join('\t')}\n`, 'utf8')));
  }
  data.push(commandComplete(`SELECT ${rows}`), READY);
  copy.push(encodeMessage(Backend.CopyDone, Buffer.alloc(0)), commandComplete(`COPY ${rows}`), READY);
  return [
    { name: 'SELECT', sql: 'SELECT * FROM customers', chunks: chunked(data, 65536) },
    { name: 'COPY', sql: 'COPY (SELECT * FROM customers) TO STDOUT', chunks: chunked(copy, 65536) },
  ];
}

/** Nanoseconds per row of one pass of `workload` through a fresh ResultMasker of `tree`. */
function pass(
  tree: Tree,
  masks: readonly (ValueMask | undefined)[],
  workload: Workload,
  rows: number,
): number {
  const masker = new tree.ResultMasker(sessionWith(masks));
  masker.outgoing(encodeQuery(workload.sql));
  let bytes = 0;
  const start = process.hrtime.bigint();
  for (const chunk of workload.chunks) bytes += masker.incoming(chunk).length;
  const elapsed = Number(process.hrtime.bigint() - start);
  if (bytes === 0) throw new Error('the masker passed nothing on');
  return elapsed / rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '200000' },
      rounds: { type: 'string', default: '5' },
      baseline: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const rows = Number(values.rows);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write(`Invalid options: --rows and --rounds take whole numbers ≥ 1.\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const here = path.resolve(import.meta.dirname, '..');
  const trees = [await loadTree('this tree', here)];
  if (values.baseline !== undefined) trees.unshift(await loadTree('baseline', path.resolve(values.baseline)));
  const cells = workloads(rows)
    .flatMap((workload) => (['plain', 'columns', 'masked'] as const).map((role) => ({ workload, role })))
    .filter(({ workload, role }) => values.only === undefined || values.only === `${workload.name}/${role}`);
  if (cells.length === 0)
    throw new Error(`--only ${values.only}: no such cell (SELECT/masked, COPY/columns …)`);
  const best = new Map<string, number>();
  for (let round = 0; round <= rounds; round++) {
    for (const { workload, role } of cells) {
      for (const tree of trees) {
        const ns = pass(tree, roleMasks(tree, role), workload, rows);
        const key = `${workload.name}\t${role}\t${tree.name}`;
        // Round 0 warms the JIT and is not counted.
        if (round > 0) best.set(key, Math.min(best.get(key) ?? Number.POSITIVE_INFINITY, ns));
      }
    }
  }
  const header = ['workload', 'role', ...trees.map((tree) => `${tree.name} ns/row`)];
  if (trees.length === 2) header.push('after/before');
  const table = [header];
  for (const { workload, role } of cells) {
    const figures = trees.map((tree) => best.get(`${workload.name}\t${role}\t${tree.name}`)!);
    const row = [workload.name, role, ...figures.map((ns) => ns.toFixed(0))];
    if (figures.length === 2) row.push(`${(figures[1]! / figures[0]!).toFixed(2)}x`);
    table.push(row);
  }
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table) {
    process.stdout.write(
      `${row.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')}\n`,
    );
  }
  process.stdout.write(`\n${rows} rows per pass, best of ${rounds} passes per cell, 64 KiB chunks.\n`);
}

await main();
