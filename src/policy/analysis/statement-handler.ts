/** The shape of a top-level statement's analysis: one handler per parse node kind (classify-statement.ts). */
import type { FactsCollector } from './facts-collector.js';
import type { ParseNode } from './parse-node.js';

/** Merges the facts of a statement nested in another (EXPLAIN x, PREPARE n AS x, CREATE SCHEMA … x). */
export type NestedClassifier = (statement: unknown) => void;

/** Adds the facts of one statement of a known kind (its body) to `ctx`. */
export type StatementHandler = (ctx: FactsCollector, body: ParseNode, nested: NestedClassifier) => void;

/** Handlers by parse node kind. */
export type StatementHandlers = Readonly<Record<string, StatementHandler>>;
