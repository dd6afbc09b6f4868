/**
 * Scores content detection against a labelled corpus (test/fixtures/masking/detector-corpus.jsonl):
 * per class true positives, false positives, false negatives, precision and recall. A finding counts
 * only when its class and exact text match a label. Shared by the accuracy test and
 * `npm run bench:detectors`.
 */
import { findSensitive } from './detect-sensitive.js';
import { isSensitiveClass, SENSITIVE_CLASSES, type SensitiveClass } from './sensitive-class.js';

/** One labelled item of a corpus line. */
export interface CorpusItem {
  readonly cls: SensitiveClass;
  readonly value: string;
}

/** A text and every sensitive item it holds (none for a negative). */
export interface CorpusLine {
  readonly text: string;
  readonly expect: readonly CorpusItem[];
}

/** Counts and ratios for one class, or for all classes together. */
export interface ClassScore {
  readonly cls: SensitiveClass | 'overall';
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly falseNegatives: number;
  readonly precision: number;
  readonly recall: number;
}

/** A finding that was not labelled (`false-positive`) or a label not found (`false-negative`). */
export interface ScoringError {
  readonly kind: 'false-positive' | 'false-negative';
  readonly line: number;
  readonly cls: SensitiveClass;
  readonly value: string;
}

/** The score of a whole corpus. */
export interface DetectorScore {
  readonly lines: number;
  readonly perClass: readonly ClassScore[];
  readonly overall: ClassScore;
  readonly errors: readonly ScoringError[];
}

/** Parses JSON Lines `{"text": …, "expect": [{"cls": …, "value": …}]}`; throws naming the bad line. */
export function parseDetectorCorpus(jsonl: string): CorpusLine[] {
  const lines: CorpusLine[] = [];
  jsonl.split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    const parsed: unknown = JSON.parse(raw);
    if (!isCorpusLine(parsed))
      throw new Error(`detector corpus line ${index + 1} is not {text, expect[{cls, value}]}`);
    for (const item of parsed.expect) {
      if (!parsed.text.includes(item.value)) {
        throw new Error(`detector corpus line ${index + 1}: "${item.value}" is not in its text`);
      }
    }
    lines.push(parsed);
  });
  return lines;
}

function isCorpusLine(value: unknown): value is CorpusLine {
  if (typeof value !== 'object' || value === null) return false;
  const { text, expect } = value as { text?: unknown; expect?: unknown };
  return (
    typeof text === 'string' &&
    Array.isArray(expect) &&
    expect.every(
      (item: { cls?: unknown; value?: unknown }) =>
        typeof item === 'object' &&
        item !== null &&
        typeof item.cls === 'string' &&
        isSensitiveClass(item.cls) &&
        typeof item.value === 'string',
    )
  );
}

/** Runs findSensitive with every class over `corpus` and counts what it got right and wrong. */
export function scoreDetectors(corpus: readonly CorpusLine[]): DetectorScore {
  const all = new Set(SENSITIVE_CLASSES);
  const counts = new Map(SENSITIVE_CLASSES.map((cls) => [cls, { tp: 0, fp: 0, fn: 0 }]));
  const errors: ScoringError[] = [];
  corpus.forEach((line, index) => {
    const expected = line.expect.map((item) => ({ ...item, found: false }));
    for (const match of findSensitive(line.text, all)) {
      const value = line.text.slice(match.start, match.end);
      const label = expected.find((item) => !item.found && item.cls === match.cls && item.value === value);
      if (label === undefined) {
        counts.get(match.cls)!.fp++;
        errors.push({ kind: 'false-positive', line: index + 1, cls: match.cls, value });
      } else {
        label.found = true;
        counts.get(match.cls)!.tp++;
      }
    }
    for (const item of expected) {
      if (item.found) continue;
      counts.get(item.cls)!.fn++;
      errors.push({ kind: 'false-negative', line: index + 1, cls: item.cls, value: item.value });
    }
  });
  const perClass = SENSITIVE_CLASSES.map((cls) => {
    const { tp, fp, fn } = counts.get(cls)!;
    return classScore(cls, tp, fp, fn);
  });
  const sum = (pick: (score: ClassScore) => number) =>
    perClass.reduce((total, score) => total + pick(score), 0);
  const overall = classScore(
    'overall',
    sum((s) => s.truePositives),
    sum((s) => s.falsePositives),
    sum((s) => s.falseNegatives),
  );
  return { lines: corpus.length, perClass, overall, errors };
}

function classScore(cls: SensitiveClass | 'overall', tp: number, fp: number, fn: number): ClassScore {
  return {
    cls,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    // No findings means no wrong findings; nothing to find means nothing missed.
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    recall: tp + fn === 0 ? 1 : tp / (tp + fn),
  };
}

/** The score as an aligned text table, one row per class and one for all together. */
export function formatScoreTable(score: DetectorScore): string {
  const rows = [['class', 'TP', 'FP', 'FN', 'precision', 'recall']];
  for (const s of [...score.perClass, score.overall]) {
    rows.push([
      s.cls,
      String(s.truePositives),
      String(s.falsePositives),
      String(s.falseNegatives),
      s.precision.toFixed(3),
      s.recall.toFixed(3),
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  '),
    )
    .join('\n');
}
