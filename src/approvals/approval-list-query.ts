/** Which approval requests to list, as reviewers write it in a URL query or on the command line; checked strictly. */
import type { ListApprovalsOptions } from './approval-desk.js';
import { APPROVAL_STATUSES, type ApprovalStatus } from './approval-types.js';

/** The fields a listing takes. */
export const APPROVAL_LIST_FIELDS = ['status', 'limit'] as const;
export type ApprovalListField = (typeof APPROVAL_LIST_FIELDS)[number];

/** Most requests one listing returns (the desk's own bound). */
export const MAX_APPROVAL_LIST_LIMIT = 1000;

/** The desk options, or the field at fault and what to write instead. */
export type ApprovalListQueryResult =
  | { readonly ok: true; readonly options: ListApprovalsOptions }
  | { readonly ok: false; readonly field: ApprovalListField; readonly message: string };

/**
 * Reads `status` and `limit` as given (absent fields stay absent; callers pick the default status).
 * `label` names a field as the user wrote it, e.g. `--limit` on the command line.
 */
export function parseApprovalListQuery(
  input: { readonly status?: string; readonly limit?: string },
  label: (field: ApprovalListField) => string = (field) => field,
): ApprovalListQueryResult {
  let status: ApprovalStatus | undefined;
  if (input.status !== undefined) {
    if (!(APPROVAL_STATUSES as readonly string[]).includes(input.status)) {
      return refuse(
        'status',
        `${label('status')} ${JSON.stringify(input.status)} is not a status; use one of ${APPROVAL_STATUSES.join(', ')}`,
      );
    }
    status = input.status as ApprovalStatus;
  }
  let limit: number | undefined;
  if (input.limit !== undefined) {
    limit = /^\d{1,4}$/.test(input.limit) ? Number(input.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_APPROVAL_LIST_LIMIT)) {
      return refuse(
        'limit',
        `${label('limit')} ${JSON.stringify(input.limit)} is not a whole number from 1 to ${MAX_APPROVAL_LIST_LIMIT}`,
      );
    }
  }
  return {
    ok: true,
    options: { ...(status === undefined ? {} : { status }), ...(limit === undefined ? {} : { limit }) },
  };
}

function refuse(field: ApprovalListField, message: string): ApprovalListQueryResult {
  return { ok: false, field, message };
}
