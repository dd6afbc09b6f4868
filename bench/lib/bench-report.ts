/** The comparison table printed at the end of a bench run, and its JSON copy in bench/results/. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Measurement } from './pgbench-runs.js';

/**
 * The paths a line can be measured on: airlock is `airlock serve` (least-privilege role and audit
 * with durability fsync), airlock-audit-os the same with durability os, airlock-no-audit enforces
 * the role without recording, airlock-allow-all does neither; the probes price the audit path's
 * parts (bench/lib/probe-committers.ts) and run only when asked for.
 */
export const TARGET_NAMES = [
  'direct',
  'pgbouncer',
  'airlock',
  'airlock-audit-os',
  'airlock-no-audit',
  'airlock-allow-all',
  'probe-unstored',
  'probe-journal',
] as const;
/** One of {@link TARGET_NAMES}. */
export type TargetName = (typeof TARGET_NAMES)[number];

/** What `npm run bench` measures without `--targets`: every path but the probes. */
export const DEFAULT_TARGETS: readonly TargetName[] = TARGET_NAMES.filter(
  (name) => !name.startsWith('probe-'),
);

/** One row: a workload, a metric, and its value on each path. */
export interface ReportLine {
  readonly workload: string;
  readonly metric: 'TPS' | 'latency ms' | 'seconds';
  readonly values: Partial<Record<TargetName, Measurement<number>>>;
}

const RESULTS_DIR = fileURLToPath(new URL('../results', import.meta.url));

/** `of` / `over` on one line (default `of`: airlock), or null when either is missing. */
function ratio(line: ReportLine, over: TargetName, of: TargetName = 'airlock'): number | null {
  const value = line.values[of];
  const other = line.values[over];
  if (!value?.ok || !other?.ok || other.value === 0) return null;
  return value.value / other.value;
}

function formatValue(line: ReportLine, value: Measurement<number> | undefined): string {
  if (value === undefined) return 'n/a';
  if (!value.ok) return 'error';
  if (line.metric === 'TPS') return value.value.toFixed(0);
  return value.value.toFixed(line.metric === 'seconds' ? 2 : 3);
}

function formatRatio(value: number | null): string {
  return value === null ? 'n/a' : `${value.toFixed(2)}x`;
}

/** The lines as an aligned text table, with the errors listed under it. */
export function formatTable(lines: readonly ReportLine[]): string {
  const measured = TARGET_NAMES.filter(
    (name) => !name.startsWith('probe-') || lines.some((line) => line.values[name] !== undefined),
  );
  const header = [
    'workload',
    'metric',
    ...measured,
    'airlock/direct',
    'airlock/pgbouncer',
    'airlock/no-audit',
    'audit-os/no-audit',
    'no-audit/allow-all',
  ];
  const rows = lines.map((line) => [
    line.workload,
    line.metric,
    ...measured.map((name) => formatValue(line, line.values[name])),
    formatRatio(ratio(line, 'direct')),
    formatRatio(ratio(line, 'pgbouncer')),
    formatRatio(ratio(line, 'airlock-no-audit')),
    formatRatio(ratio(line, 'airlock-no-audit', 'airlock-audit-os')),
    formatRatio(ratio(line, 'airlock-allow-all', 'airlock-no-audit')),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const render = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  const errors = lines.flatMap((line) =>
    TARGET_NAMES.flatMap((name) => {
      const value = line.values[name];
      return value && !value.ok ? [`  ${name}, ${line.workload}: ${value.error}`] : [];
    }),
  );
  return [
    render(header),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...rows.map(render),
    ...auditSteps(lines),
    '',
    'Ratios are airlock value / other value (audit-os/no-audit: airlock-audit-os / airlock-no-audit;',
    'no-audit/allow-all: airlock-no-audit / airlock-allow-all):',
    'below 1x is slower for TPS, above 1x is slower for latency and seconds.',
    ...(errors.length > 0 ? ['', 'Errors:', ...errors] : []),
  ].join('\n');
}

/** The audit's cost step by step (TPS / no-audit), when the probes ran: where its time goes. */
function auditSteps(lines: readonly ReportLine[]): string[] {
  const steps: [string, TargetName][] = [
    ['unstored', 'probe-unstored'],
    ['journal-fsync', 'probe-journal'],
    ['sqlite-os', 'airlock-audit-os'],
    ['sqlite-fsync', 'airlock'],
  ];
  const tps = lines.filter((line) => line.metric === 'TPS' && line.values['airlock-no-audit']?.ok);
  if (!steps.some(([, name]) => name.startsWith('probe-') && tps.some((l) => l.values[name] !== undefined)))
    return [];
  const header = ['workload (TPS / no-audit)', ...steps.map(([title]) => title)];
  const rows = tps.map((line) => [
    line.workload,
    ...steps.map(([, name]) => formatRatio(ratio(line, 'airlock-no-audit', name))),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  return [
    '',
    'The audit step by step: unstored = guards + events serialized, hashed, group-committed, nothing',
    'stored; journal-fsync = + one plain-file write and fdatasync per group; sqlite-os / sqlite-fsync =',
    'as shipped (durability os / fsync).',
    render(header),
    ...rows.map(render),
  ];
}

/** Writes the run as bench/results/<timestamp>.json (gitignored); returns the path. */
export async function writeJsonReport(
  startedAt: Date,
  meta: Record<string, unknown>,
  lines: readonly ReportLine[],
): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${startedAt.toISOString().replaceAll(':', '-')}.json`);
  const body = {
    startedAt: startedAt.toISOString(),
    ...meta,
    lines: lines.map((line) => ({
      ...line,
      ratios: {
        airlockOverDirect: ratio(line, 'direct'),
        airlockOverPgbouncer: ratio(line, 'pgbouncer'),
        airlockOverNoAudit: ratio(line, 'airlock-no-audit'),
        auditOsOverNoAudit: ratio(line, 'airlock-no-audit', 'airlock-audit-os'),
        noAuditOverAllowAll: ratio(line, 'airlock-allow-all', 'airlock-no-audit'),
        probeUnstoredOverNoAudit: ratio(line, 'airlock-no-audit', 'probe-unstored'),
        probeJournalOverNoAudit: ratio(line, 'airlock-no-audit', 'probe-journal'),
      },
    })),
  };
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
