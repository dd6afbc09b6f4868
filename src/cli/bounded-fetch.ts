/** One HTTP request with a deadline, a body size limit and no redirects followed: what `airlock login` sends secrets with. */
import { readBoundedBody } from '../identity/read-bounded-body.js';

/** Largest response body read (the gateway's ConnectionInfo and GitHub's token answer are ~1–2 KiB). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** A response read in full (within the limit). */
export interface BoundedResponse {
  readonly status: number;
  /** The Location header of a redirect, else null. */
  readonly location: string | null;
  readonly text: string;
}

/** The request, and how to name it in messages. */
export interface BoundedRequest {
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Aborts the request and the body read (the login's overall deadline). */
  readonly signal: AbortSignal;
  /** Names the other side in messages, e.g. "the gateway". */
  readonly peer: string;
  /** Describes the deadline in messages, e.g. "20s". */
  readonly timeoutText: string;
}

/**
 * Sends one request and reads the body up to MAX_RESPONSE_BYTES. Redirects are returned, never
 * followed: a followed redirect could carry the ID token (a POST body is resent on 307/308) or the
 * bearer header to another origin. Throws a message naming `peer` on timeouts, network errors and
 * oversize bodies; never includes headers or the request body.
 */
export async function fetchBounded(url: URL, request: BoundedRequest): Promise<BoundedResponse> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: request.signal,
    });
  } catch (error) {
    throw transportError(error, url, request);
  }
  const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
  let body: Buffer | 'too-large';
  try {
    body = await readBoundedBody(response, MAX_RESPONSE_BYTES);
  } catch (error) {
    throw transportError(error, url, request);
  }
  if (body === 'too-large') throw oversize(request.peer, response.status);
  return { status: response.status, location, text: body.toString('utf8') };
}

function oversize(peer: string, status: number): Error {
  return new Error(
    `${peer} answered HTTP ${status} with more than ${MAX_RESPONSE_BYTES / 1024} KiB; that is not an answer airlock login expects`,
  );
}

function transportError(error: unknown, url: URL, request: BoundedRequest): Error {
  if (request.signal.aborted) {
    return new Error(
      `${request.peer} (${url.origin}) did not answer within ${request.timeoutText} (--timeout)`,
    );
  }
  // fetch reports "fetch failed" with the system error (ECONNREFUSED, ENOTFOUND, a TLS failure) as the cause.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
  return new Error(`could not reach ${request.peer} at ${url.origin}: ${detail}`);
}
