import { describe, expect, it } from 'vitest';
import { parseApprovalListQuery } from './approval-list-query.js';

describe('parseApprovalListQuery', () => {
  it('keeps absent fields absent and reads a status and a limit', () => {
    expect(parseApprovalListQuery({})).toEqual({ ok: true, options: {} });
    expect(parseApprovalListQuery({ status: 'denied', limit: '25' })).toEqual({
      ok: true,
      options: { status: 'denied', limit: 25 },
    });
    expect(parseApprovalListQuery({ limit: '1000' })).toEqual({ ok: true, options: { limit: 1000 } });
  });

  it('names the field at fault as the user wrote it', () => {
    expect(parseApprovalListQuery({ status: 'Pending' }, (field) => `--${field}`)).toEqual({
      ok: false,
      field: 'status',
      message:
        '--status "Pending" is not a status; use one of pending, approved, denied, expired, withdrawn, abandoned',
    });
    for (const limit of ['0', '1001', '-1', '2.5', '1e3', '', ' 5', '00000001']) {
      expect(parseApprovalListQuery({ limit })).toEqual({
        ok: false,
        field: 'limit',
        message: `limit ${JSON.stringify(limit)} is not a whole number from 1 to 1000`,
      });
    }
  });
});
