/** How a masked value is shown: a fixed placeholder, part of it, a keyed hash, or SQL NULL. */
export type MaskStrategy = 'redact' | 'partial' | 'hash' | 'null';

export const MASK_STRATEGIES: readonly MaskStrategy[] = ['redact', 'partial', 'hash', 'null'];
