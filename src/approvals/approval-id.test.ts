import { describe, expect, it } from 'vitest';
import { APPROVAL_ID_EXAMPLE, isApprovalId } from './approval-id.js';

describe('isApprovalId', () => {
  it('accepts apr_ and 16 to 40 lowercase letters and digits, nothing else', () => {
    expect(isApprovalId(APPROVAL_ID_EXAMPLE)).toBe(true);
    expect(isApprovalId(`apr_${'0'.repeat(40)}`)).toBe(true);
    for (const text of [
      '',
      'apr_',
      `apr_${'a'.repeat(15)}`,
      `apr_${'a'.repeat(41)}`,
      'APR_7K2M9Q4X8C3V5B6N',
      'apr_7k2m9q4x8c3v5b6N',
      'apr-7k2m9q4x8c3v5b6n',
      `${APPROVAL_ID_EXAMPLE}\n`,
      ` ${APPROVAL_ID_EXAMPLE}`,
      'apr_7k2m9q4x8c3v5b6n/../x',
      'at_7k2m9q4x8c3v5b6n',
    ]) {
      expect(isApprovalId(text)).toBe(false);
    }
  });
});
