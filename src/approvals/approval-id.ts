/** What an approval request id looks like, so the API and the CLI turn away anything else before asking the desk. */

/** An id as reviewers see it in notices and listings. */
export const APPROVAL_ID_EXAMPLE = 'apr_7k2m9q4x8c3v5b6n';

const APPROVAL_ID = /^apr_[a-z0-9]{16,40}$/;

/** Whether `text` has the shape of an approval request id (`apr_` and 16 to 40 of a-z, 0-9). */
export function isApprovalId(text: string): boolean {
  return APPROVAL_ID.test(text);
}
