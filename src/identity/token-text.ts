/** What a token's subject, reason and run id may hold, wherever they come from (CLI, CI claims). */

/** Longest subject, reason or run id a token may carry. */
export const MAX_TOKEN_TEXT_LENGTH = 512;

/**
 * C0/C1 controls, line/paragraph separators and bidi overrides: in a subject or reason they would let
 * the text forge lines or reorder itself in audit records and terminal listings.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
