/** The kinds of personal data and secrets the content detectors find, and that columns can be classified as. */
export type SensitiveClass =
  | 'email'
  | 'phone'
  | 'ssn'
  | 'credit_card'
  | 'iban'
  | 'ip_address'
  | 'jwt'
  | 'api_key';

export const SENSITIVE_CLASSES: readonly SensitiveClass[] = [
  'email',
  'phone',
  'ssn',
  'credit_card',
  'iban',
  'ip_address',
  'jwt',
  'api_key',
];

export function isSensitiveClass(value: string): value is SensitiveClass {
  return (SENSITIVE_CLASSES as readonly string[]).includes(value);
}
