/** Statements that run code the gateway cannot see into: DO blocks, CALL of a procedure, LOAD of a library. */
import { NO_CTES } from './cte-scope.js';
import { walkFields } from './expression-walker.js';
import { recordFunctionCall } from './function-calls.js';
import { listField, objectField, stringField, stringList } from './parse-node.js';
import type { StatementHandlers } from './statement-handler.js';
import { unclassified } from './unclassified.js';

const FUNC_CALL_NAME = new Set(['funcname']);

/** DO, CALL, LOAD. */
export const ROUTINE_STATEMENT_HANDLERS: StatementHandlers = {
  DoStmt: (ctx) => ctx.addFeature('do-block'),
  // CALL p(args): the `call` feature and the procedure as a called function; its arguments are walked.
  CallStmt: (ctx, call) => {
    const funcCall = objectField(call, 'funccall');
    if (funcCall === undefined) return unclassified('CALL without a procedure');
    recordFunctionCall(ctx, funcCall);
    ctx.addFeature('call', (stringList(listField(funcCall, 'funcname')) ?? []).join('.'));
    walkFields(ctx, 'FuncCall', funcCall, NO_CTES, FUNC_CALL_NAME);
  },
  LoadStmt: (ctx, load) => ctx.addFeature('load', stringField(load, 'filename') ?? ''),
};
