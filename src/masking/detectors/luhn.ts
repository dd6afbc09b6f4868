/** The Luhn (mod 10) checksum that every payment card number carries in its last digit. */

/** Whether a string of ASCII digits passes the Luhn check (ISO/IEC 7812-1 annex B). */
export function isLuhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let digit = digits.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return false;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** {@link isLuhnValid} of `bytes[start, end)`, without making a string. */
export function isLuhnValidAt(bytes: Uint8Array, start: number, end: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = end - 1; i >= start; i--) {
    let digit = bytes[i]! - 48;
    if (digit < 0 || digit > 9) return false;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return end > start && sum % 10 === 0;
}

/** The digit that makes `payload + digit` Luhn-valid (used to build test numbers). */
export function luhnCheckDigit(payload: string): string {
  for (let digit = 0; digit <= 9; digit++) {
    if (isLuhnValid(`${payload}${digit}`)) return String(digit);
  }
  throw new Error(`luhnCheckDigit: ${payload} is not a string of digits`);
}
