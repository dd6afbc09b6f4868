/**
 * Fetches an issuer's discovery document or JWKS: GET, no redirects, bounded in time and size, JSON.
 * Failures become `keys-unavailable` refusals naming the URL (configuration, not secret) and the cause.
 */
import { readBoundedBody } from '../read-bounded-body.js';
import { IdTokenRefusal } from './id-token-refusal.js';

/** How issuer documents are fetched. */
export interface IssuerFetchOptions {
  readonly fetch: typeof fetch;
  /** Covers the whole exchange, body included. */
  readonly timeoutMs: number;
}

/** Largest discovery document or JWKS read (GitHub's JWKS is about 2 KiB; a huge one is an attack or a mistake). */
export const MAX_ISSUER_DOCUMENT_BYTES = 256 * 1024;

/** GETs `url` and parses its body as JSON; `what` names the document in refusals ("the JWKS"). */
export async function fetchIssuerJson(
  url: string,
  what: string,
  options: IssuerFetchOptions,
): Promise<unknown> {
  const unavailable = (cause: string) =>
    new IdTokenRefusal('keys-unavailable', `cannot fetch ${what} from ${url}: ${cause}`);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let body: Uint8Array;
  try {
    const response = await options.fetch(url, {
      method: 'GET',
      // A redirect could lead anywhere, plain http included; issuers serve their keys directly.
      redirect: 'manual',
      signal,
      headers: { accept: 'application/json, application/jwk-set+json' },
    });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw unavailable(`HTTP ${response.status}`);
    }
    const read = await readBoundedBody(response, MAX_ISSUER_DOCUMENT_BYTES);
    if (read === 'too-large') throw unavailable(`larger than ${MAX_ISSUER_DOCUMENT_BYTES / 1024} KiB`);
    body = read;
  } catch (error) {
    if (error instanceof IdTokenRefusal) throw error;
    if (signal.aborted) throw unavailable(`no answer within ${options.timeoutMs} ms`);
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    throw unavailable(typeof code === 'string' ? `connection failed (${code})` : 'connection failed');
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw unavailable('the answer is not JSON');
  }
}
