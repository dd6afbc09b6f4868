/**
 * JSON Web Tokens (RFC 7519) in compact form: base64url segments separated by dots (three for a JWS,
 * five for a JWE), the first of which decodes to a JSON object with an `alg` member, so it starts `eyJ`.
 */
import { collectSpans, type TextSpan } from './text-span.js';

const JWT_SHAPE = /(?<![\w-])eyJ[\w-]{7,}\.[\w-]{2,}\.[\w-]*(?:\.[\w-]+\.[\w-]*)?(?![\w-])/g;

/** The JWTs in `text`. */
export function findJwts(text: string): TextSpan[] {
  return collectSpans(JWT_SHAPE, text, (match) => hasJoseHeader(match[0].slice(0, match[0].indexOf('.'))));
}

/** Whether a base64url segment decodes to a JSON object with a string `alg` (a JOSE header). */
export function hasJoseHeader(segment: string): boolean {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  try {
    const header: unknown = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')));
    return (
      typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}
