// TEMPORARY stand-in until the detector branch lands (replaced at merge).
import type { MaskStrategy } from './mask-strategy.js';
import type { SensitiveClass } from './sensitive-class.js';
export const REDACTED = '[redacted]';
export function maskText(
  value: string,
  strategy: 'redact' | 'partial' | 'hash',
  cls: SensitiveClass | undefined,
  hashKey: Uint8Array | undefined,
): string {
  void value;
  void strategy;
  void cls;
  void hashKey;
  return REDACTED;
}
export function scrubText(
  text: string,
  classes: ReadonlySet<SensitiveClass>,
  strategy: MaskStrategy,
  hashKey: Uint8Array | undefined,
): string {
  void classes;
  void strategy;
  void hashKey;
  return text.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, REDACTED);
}
