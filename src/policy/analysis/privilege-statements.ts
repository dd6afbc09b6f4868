/** Statements that change who may do what: every one is the `privilege` feature (effect privilege). */
import { booleanField, type ParseNode, stringField } from './parse-node.js';
import type { StatementHandler, StatementHandlers } from './statement-handler.js';

function privilege(detail: string | ((statement: ParseNode) => string)): StatementHandler {
  return (ctx, statement) =>
    ctx.addFeature('privilege', typeof detail === 'string' ? detail : detail(statement));
}

const ROLE_KINDS: Readonly<Record<string, string>> = { ROLESTMT_USER: 'user', ROLESTMT_GROUP: 'group' };

/** GRANT/REVOKE, role management, default privileges, ownership, security labels. */
export const PRIVILEGE_STATEMENT_HANDLERS: StatementHandlers = {
  GrantStmt: privilege((s) => (booleanField(s, 'is_grant') ? 'grant' : 'revoke')),
  GrantRoleStmt: privilege((s) => (booleanField(s, 'is_grant') ? 'grant role' : 'revoke role')),
  CreateRoleStmt: privilege((s) => {
    const kind = stringField(s, 'stmt_type') ?? '';
    return `create ${Object.hasOwn(ROLE_KINDS, kind) ? ROLE_KINDS[kind] : 'role'}`;
  }),
  AlterRoleStmt: privilege('alter role'),
  AlterRoleSetStmt: privilege('alter role set'),
  DropRoleStmt: privilege('drop role'),
  AlterDefaultPrivilegesStmt: privilege('alter default privileges'),
  ReassignOwnedStmt: privilege('reassign owned'),
  DropOwnedStmt: privilege('drop owned'),
  SecLabelStmt: privilege('security label'),
  AlterOwnerStmt: privilege('owner to'),
};
