/**
 * Analysis results cached by (search path, statement text), so repeated statements cost a lookup,
 * not a parse. Two generations bound the memory without per-hit bookkeeping: new results go to the
 * young map; when it is full it becomes the old one and the previous old one is dropped; a hit in
 * the old map is promoted. (A Map used as an LRU with delete+set on every hit, or FIFO eviction of
 * its first key, fills V8's ordered hash table with tombstones and slowed every statement.)
 */
import { analyzeSql } from './analyze-sql.js';
import { maskNumericLiterals } from './numeric-literals.js';
import type { AnalysisResult } from './policy-types.js';

const DEFAULT_GENERATION_SIZE = 2_000;
/** Texts longer than this are analysed every time (they are rare and would crowd the cache). */
const MAX_CACHED_TEXT = 16 * 1024;

export class AnalysisCache {
  private young = new Map<string, AnalysisResult>();
  private old = new Map<string, AnalysisResult>();

  constructor(private readonly generationSize = DEFAULT_GENERATION_SIZE) {}

  /** Entries held now (at most twice the generation size). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /**
   * The analysis of `sql` under `searchPath`, from the cache when possible. Statements that differ
   * only in numeric constants share an entry (see numeric-literals.ts); a failed analysis is only
   * shared by identical texts, so one agent cannot make another's valid statement look invalid.
   */
  analyze(sql: string, searchPath: readonly string[]): AnalysisResult {
    if (sql.length > MAX_CACHED_TEXT) return analyzeSql(sql, searchPath);
    const text = maskNumericLiterals(sql) ?? sql;
    const key =
      searchPath.length === 1 ? `${searchPath[0]}\u0001${text}` : `${searchPath.join('\u0000')}\u0001${text}`;
    const hit = this.young.get(key);
    if (hit !== undefined) return hit;
    const result = this.old.get(key) ?? analyzeSql(sql, searchPath);
    if (result.ok || text === sql) this.remember(key, result);
    return result;
  }

  private remember(key: string, result: AnalysisResult): void {
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, result);
  }
}
