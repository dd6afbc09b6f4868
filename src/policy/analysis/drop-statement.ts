/** DROP: `ddl` on each dropped relation; triggers, rules and policies change their table too; other objects by kind. */
import { nameParts, recordAttachedObjectDdl, recordObjectDdl, recordRelationPartsDdl } from './ddl-facts.js';
import type { FactsCollector } from './facts-collector.js';
import { TABLE_ATTACHED_OBJECT_TYPES, TABLE_LIKE_OBJECT_TYPES } from './object-types.js';
import { listField, type ParseNode, stringField } from './parse-node.js';
import type { StatementHandlers } from './statement-handler.js';

function classifyDrop(ctx: FactsCollector, drop: ParseNode): void {
  const objectType = stringField(drop, 'removeType') ?? '';
  ctx.raiseEffect('ddl');
  if (TABLE_LIKE_OBJECT_TYPES.has(objectType)) {
    ctx.addFeature('destructive', 'DROP');
    // DROP INDEX i names the index as a relation.
    for (const object of listField(drop, 'objects')) recordRelationPartsDdl(ctx, nameParts(object));
  } else if (TABLE_ATTACHED_OBJECT_TYPES.has(objectType)) {
    for (const object of listField(drop, 'objects'))
      recordAttachedObjectDdl(ctx, 'drop', objectType, nameParts(object));
  } else {
    recordObjectDdl(ctx, 'drop', objectType);
  }
}

/** DROP TABLE/VIEW/INDEX/SEQUENCE/… and DROP of every other object kind. */
export const DROP_STATEMENT_HANDLERS: StatementHandlers = { DropStmt: classifyDrop };
