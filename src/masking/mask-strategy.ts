/** How a sensitive value is replaced: the strategies a masking rule may name. */

/**
 * `redact` replaces the value with a marker, `partial` keeps a few trailing characters (or an email's
 * domain), `hash` replaces it with a keyed digest that still joins and counts, `null` sends SQL NULL.
 */
export type MaskStrategy = 'redact' | 'partial' | 'hash' | 'null';

/** Every {@link MaskStrategy}, for configuration parsing and documentation. */
export const MASK_STRATEGIES: readonly MaskStrategy[] = Object.freeze([
  'redact',
  'partial',
  'hash',
  'null',
] as const);
