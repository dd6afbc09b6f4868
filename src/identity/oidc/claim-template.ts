/** Parses and fills claim templates (`github:{repository}`, `{pr?}`): how a binding turns claims into token texts. */
import { CONTROL_CHARS, MAX_TOKEN_TEXT_LENGTH } from '../token-text.js';

/** One piece of a parsed template: literal text, or a claim's value (nothing for a missing optional claim). */
export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'claim'; readonly name: string; readonly optional: boolean };

/** Claim names a template or matcher may refer to (top-level claims only; dots are part of the name). */
export const CLAIM_NAME = /^[A-Za-z0-9_.-]+$/;

/** Longest subject, reason or run id a token may carry: the same limit as `airlock token issue`. */
export const MAX_RENDERED_LENGTH = MAX_TOKEN_TEXT_LENGTH;

/** The template's parts, or what is wrong with it. */
export function parseClaimTemplate(
  template: string,
):
  | { readonly ok: true; readonly parts: readonly TemplatePart[] }
  | { readonly ok: false; readonly problem: string } {
  const parts: TemplatePart[] = [];
  let literal = '';
  let at = 0;
  while (at < template.length) {
    const char = template[at]!;
    if (char === '}') return { ok: false, problem: `has a "}" without an opening "{" (at ${at})` };
    if (char !== '{') {
      literal += char;
      at += 1;
      continue;
    }
    const close = template.indexOf('}', at + 1);
    if (close === -1) return { ok: false, problem: `has a "{" without a closing "}" (at ${at})` };
    const inner = template.slice(at + 1, close);
    const optional = inner.endsWith('?');
    const name = optional ? inner.slice(0, -1) : inner;
    if (!CLAIM_NAME.test(name)) {
      return {
        ok: false,
        problem: `{${inner}} is not a claim reference (claim names use letters, digits, _, . and -)`,
      };
    }
    if (literal !== '') parts.push({ kind: 'text', text: literal });
    literal = '';
    parts.push({ kind: 'claim', name, optional });
    at = close + 1;
  }
  if (literal !== '') parts.push({ kind: 'text', text: literal });
  return { ok: true, parts };
}

/** A claim's value as text: strings as they are, finite numbers and booleans written out; null otherwise. */
export function claimAsText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** Fills `template` from `claims`, or says why it cannot be (missing claim, non-text claim, unsafe result). */
export function renderClaimTemplate(
  template: string,
  claims: Readonly<Record<string, unknown>>,
): { readonly ok: true; readonly text: string } | { readonly ok: false; readonly problem: string } {
  const parsed = parseClaimTemplate(template);
  if (!parsed.ok) return parsed;
  let text = '';
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      text += part.text;
      continue;
    }
    const value = Object.hasOwn(claims, part.name) ? claims[part.name] : undefined;
    if (value === undefined || value === null) {
      if (part.optional) continue;
      return { ok: false, problem: `needs claim ${part.name}, which is missing` };
    }
    const valueText = claimAsText(value);
    if (valueText === null) return { ok: false, problem: `needs claim ${part.name}, which is not text` };
    if (CONTROL_CHARS.test(valueText)) {
      return { ok: false, problem: `claim ${part.name} contains control characters` };
    }
    text += valueText;
    // Stop early: a huge claim must not be copied around only to be refused.
    if (text.length > MAX_RENDERED_LENGTH) break;
  }
  if (text.length > MAX_RENDERED_LENGTH) {
    return { ok: false, problem: `would be longer than ${MAX_RENDERED_LENGTH} characters` };
  }
  if (text.trim() === '') return { ok: false, problem: 'would be empty' };
  return { ok: true, text };
}
