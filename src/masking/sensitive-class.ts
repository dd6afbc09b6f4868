/** The kinds of personal or secret data that content detection recognises inside text values. */

/** One kind of sensitive item: what a detector finds and what a masking rule names. */
export type SensitiveClass =
  | 'email'
  | 'phone'
  | 'ssn'
  | 'credit_card'
  | 'iban'
  | 'ip_address'
  | 'jwt'
  | 'api_key';

/** Every {@link SensitiveClass}, in the order configuration and reports list them. */
export const SENSITIVE_CLASSES: readonly SensitiveClass[] = Object.freeze([
  'email',
  'phone',
  'ssn',
  'credit_card',
  'iban',
  'ip_address',
  'jwt',
  'api_key',
] as const);

const CLASS_NAMES: ReadonlySet<string> = new Set(SENSITIVE_CLASSES);

/** Whether `value` names a {@link SensitiveClass} (for configuration parsing). */
export function isSensitiveClass(value: string): value is SensitiveClass {
  return CLASS_NAMES.has(value);
}
