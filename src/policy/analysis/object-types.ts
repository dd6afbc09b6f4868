/** The parser's ObjectType values, sorted by how the policy treats DDL on them. */

/** Objects that are relations a role's table rules name: DDL on them is `ddl` on the relation. */
export const TABLE_LIKE_OBJECT_TYPES: ReadonlySet<string> = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_INDEX',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
]);

/** Objects attached to a table (named `table.object`): DDL on them also changes the table. */
export const TABLE_ATTACHED_OBJECT_TYPES: ReadonlySet<string> = new Set([
  'OBJECT_TRIGGER',
  'OBJECT_RULE',
  'OBJECT_POLICY',
  'OBJECT_TABCONSTRAINT',
]);

/** Objects only database administrators manage: DDL on them is `server-admin`. */
export const SERVER_OBJECT_TYPES: ReadonlySet<string> = new Set([
  'OBJECT_DATABASE',
  'OBJECT_TABLESPACE',
  'OBJECT_EXTENSION',
  'OBJECT_FOREIGN_SERVER',
  'OBJECT_FDW',
  'OBJECT_USER_MAPPING',
  'OBJECT_EVENT_TRIGGER',
  'OBJECT_PUBLICATION',
  'OBJECT_SUBSCRIPTION',
  'OBJECT_LANGUAGE',
  'OBJECT_ACCESS_METHOD',
  'OBJECT_PARAMETER_ACL',
]);

/** 'OBJECT_FOREIGN_TABLE' → 'foreign table', for feature details. */
export function objectTypeText(objectType: string | undefined): string {
  return (objectType ?? 'OBJECT_UNKNOWN')
    .replace(/^OBJECT_/, '')
    .replaceAll('_', ' ')
    .toLowerCase();
}
