/**
 * Accumulates the facts of one statement while the walkers run: relation accesses, function calls and
 * features (each once), and the worst effect seen.
 */
import type {
  QualifiedName,
  RelationAccess,
  StatementEffect,
  StatementFacts,
  StatementFeature,
  TableOperation,
} from '../policy-types.js';
import { effectAtRank, effectOfFeature, effectOfOperation, effectRank } from './statement-effect.js';

/** Relations read by the FROM items being walked, for FOR UPDATE/SHARE (see select-statement.ts). */
type Capture = QualifiedName[];

export class FactsCollector {
  private readonly accessByKey = new Map<string, RelationAccess>();
  private readonly functionByKey = new Map<string, QualifiedName>();
  private readonly featureByKey = new Map<string, StatementFeature>();
  private worstRank = 0;
  private captures: Capture[] = [];

  /** The schemas unqualified names resolve along (changed only inside CREATE SCHEMA … elements). */
  searchPath: readonly string[];

  constructor(searchPath: readonly string[]) {
    this.searchPath = searchPath;
  }

  /** Records `operation` on `relation`; reads also go to the active FROM-item captures. */
  addAccess(relation: QualifiedName, operation: TableOperation): void {
    const key = `${operation}\u0000${relation.schema}\u0000${relation.name}`;
    if (!this.accessByKey.has(key)) this.accessByKey.set(key, { relation, operation });
    this.raiseEffect(effectOfOperation(operation));
    if (operation === 'select') for (const capture of this.captures) capture.push(relation);
  }

  /** Records a called function. */
  addFunction(name: QualifiedName): void {
    const key = `${name.schema}\u0000${name.name}`;
    if (!this.functionByKey.has(key)) this.functionByKey.set(key, name);
  }

  /** Records a feature (with its detail, if any). */
  addFeature(feature: StatementFeature['feature'], detail?: string): void {
    const key = `${feature}\u0000${detail ?? ''}`;
    if (!this.featureByKey.has(key)) {
      this.featureByKey.set(key, detail === undefined ? { feature } : { feature, detail });
    }
    this.raiseEffect(effectOfFeature(feature));
  }

  /** Makes the statement's effect at least `effect`. */
  raiseEffect(effect: StatementEffect): void {
    this.worstRank = Math.max(this.worstRank, effectRank(effect));
  }

  /** Runs `walk` and returns every relation it read, including those read by enclosing captures. */
  captureReads(walk: () => void): QualifiedName[] {
    const capture: Capture = [];
    this.captures.push(capture);
    try {
      walk();
    } finally {
      this.captures.pop();
    }
    return capture;
  }

  /** Runs `walk` with captures paused: sublinks and WITH queries are not locked by an outer FOR UPDATE. */
  withoutCaptures(walk: () => void): void {
    if (this.captures.length === 0) {
      walk();
      return;
    }
    const saved = this.captures;
    this.captures = [];
    try {
      walk();
    } finally {
      this.captures = saved;
    }
  }

  /** Runs `walk` resolving unqualified names along `searchPath`. */
  withSearchPath(searchPath: readonly string[], walk: () => void): void {
    const saved = this.searchPath;
    this.searchPath = searchPath;
    try {
      walk();
    } finally {
      this.searchPath = saved;
    }
  }

  /** The collected facts of a statement of parse node kind `kind`. */
  toFacts(kind: string): StatementFacts {
    return {
      kind,
      effect: effectAtRank(this.worstRank),
      accesses: [...this.accessByKey.values()],
      functions: [...this.functionByKey.values()],
      features: [...this.featureByKey.values()],
    };
  }
}
