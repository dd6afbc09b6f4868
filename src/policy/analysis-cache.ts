/**
 * Analysis results cached by (search path, statement text), so repeated statements cost a lookup,
 * not a parse. Bounded: least recently used entries are evicted; very long texts are not cached.
 */
import { analyzeSql } from './analyze-sql.js';
import type { AnalysisResult } from './policy-types.js';

const DEFAULT_MAX_ENTRIES = 10_000;
/** Texts longer than this are analysed every time (they are rare and would crowd the cache). */
const MAX_CACHED_TEXT = 16 * 1024;

export class AnalysisCache {
  private readonly entries = new Map<string, AnalysisResult>();

  constructor(private readonly maxEntries = DEFAULT_MAX_ENTRIES) {}

  get size(): number {
    return this.entries.size;
  }

  /** The analysis of `sql` under `searchPath`, from the cache when possible. */
  analyze(sql: string, searchPath: readonly string[]): AnalysisResult {
    if (sql.length > MAX_CACHED_TEXT) return analyzeSql(sql, searchPath);
    const key = `${searchPath.join('\u0000')}\u0001${sql}`;
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Refresh recency: Map keeps insertion order, so re-inserting moves it to the end.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const result = analyzeSql(sql, searchPath);
    this.entries.set(key, result);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return result;
  }
}
