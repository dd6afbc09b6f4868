/**
 * API keys and private keys of known shapes only (a random-looking string is not enough): AWS access
 * key ids, GitHub, GitLab, Slack, Stripe live, OpenAI-style and Google API keys, and PEM private keys
 * (the header line, through the END line when the block is complete).
 */
import { collectSpans, type TextSpan } from './text-span.js';

const TOKEN_SHAPES = [
  '(?:AKIA|ASIA)[A-Z0-9]{16}', // AWS access key id
  'gh[pousr]_[A-Za-z0-9]{36}', // GitHub classic tokens
  'github_pat_[A-Za-z0-9_]{82}', // GitHub fine-grained tokens
  'glpat-[A-Za-z0-9_-]{20,}', // GitLab personal access tokens
  'xox[abposr]-[A-Za-z0-9-]{10,}', // Slack tokens
  '[spr]k_live_[A-Za-z0-9]{24,}', // Stripe live keys
  'sk-[A-Za-z0-9_-]{32,}', // OpenAI-style secret keys
  'AIza[A-Za-z0-9_-]{35}', // Google API keys
];
// The body of an 8192-bit RSA key is under 7 kB; the bound keeps many unterminated headers linear.
const PEM_PRIVATE_KEY =
  '-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----(?:[\\s\\S]{0,16384}?-----END \\1PRIVATE KEY-----|(?:\\r?\\n[A-Za-z0-9+/=]+)*)';
const API_KEY = new RegExp(
  `(?<![A-Za-z0-9_-])(?:${TOKEN_SHAPES.join('|')})(?![A-Za-z0-9_-])|${PEM_PRIVATE_KEY}`,
  'g',
);

/** The API keys and private keys in `text`. */
export function findApiKeys(text: string): TextSpan[] {
  return collectSpans(API_KEY, text, (match) => !match[0].startsWith('sk-') || mixesCasesAndDigits(match[0]));
}

/** An OpenAI-style key is random: it mixes cases and digits, unlike a long hyphenated "sk-" slug. */
function mixesCasesAndDigits(key: string): boolean {
  let kinds = 0;
  for (let i = 3; i < key.length && kinds !== 7; i++) {
    const code = key.charCodeAt(i);
    if (code >= 48 && code <= 57) kinds |= 1;
    else if (code >= 65 && code <= 90) kinds |= 2;
    else if (code >= 97 && code <= 122) kinds |= 4;
  }
  return kinds === 7;
}
