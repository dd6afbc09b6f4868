/** The client side of `POST /v1/token/exchange`: a CI ID token in, the gateway's ConnectionInfo out. */
import type { ConnectionInfo } from '../identity/connection-info.js';
import { fetchBounded } from './bounded-fetch.js';
import { printableExcerpt } from './printable-excerpt.js';

/** What each refusal means for the pipeline author, after the gateway's own reason. */
const STATUS_HINTS: Readonly<Record<number, string>> = {
  400: 'the gateway did not read the request as an ID token exchange',
  401: 'the gateway did not accept the ID token (check the issuer and --audience against its trust: config)',
  403: "no trust binding of the gateway matched this job's claims; the gateway operator can add or widen one",
  404: "--gateway must be the gateway's HTTP API (listen.http), and the gateway needs trust: entries",
  409: 'each ID token can be exchanged once; rerun the step to get a fresh one',
  503: 'the gateway cannot exchange tokens right now; retry later',
};

/** The login's deadline. */
export interface ExchangeRequest {
  readonly signal: AbortSignal;
  readonly timeoutText: string;
}

/**
 * Exchanges `idToken` at `exchangeUrl`. Throws an Error with the HTTP status, the gateway's
 * `{"error": …}` reason and what to do, for every answer but 200 with a well-formed ConnectionInfo.
 * The ID token never appears in a message (it is redacted if the gateway echoes it).
 */
export async function exchangeIdToken(
  exchangeUrl: URL,
  idToken: string,
  request: ExchangeRequest,
): Promise<ConnectionInfo> {
  const response = await fetchBounded(exchangeUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ token: idToken }),
    signal: request.signal,
    peer: 'the gateway',
    timeoutText: request.timeoutText,
  });
  if (response.location !== null) {
    throw new Error(
      `the gateway answered HTTP ${response.status}, a redirect to ${printableExcerpt(response.location, [idToken], 200)}; airlock login does not follow redirects (the ID token would be sent again): give the final address in --gateway`,
    );
  }
  const body = parseJson(response.text);
  if (response.status !== 200) {
    const reason =
      typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string'
        ? printableExcerpt((body as { error: string }).error, [idToken])
        : `no Airlock error in the answer${response.text === '' ? '' : `: ${printableExcerpt(response.text, [idToken], 200)}`}`;
    const hint = STATUS_HINTS[response.status];
    throw new Error(
      `the gateway refused the exchange (HTTP ${response.status}): ${reason}${hint === undefined ? '' : ` — ${hint}`}`,
    );
  }
  return readConnectionInfo(body);
}

/** Checks the 200 answer field by field; a gateway that answers anything else is a misconfiguration. */
export function readConnectionInfo(body: unknown): ConnectionInfo {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw malformed('the answer is not a JSON object');
  }
  const fields = body as Record<string, unknown>;
  const text = (name: keyof ConnectionInfo, allowEmpty = false): string => {
    const value = fields[name];
    if (typeof value !== 'string' || (!allowEmpty && value === '')) throw malformed(`"${name}" is missing`);
    return value;
  };
  const port = fields.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw malformed('"port" is not a TCP port');
  }
  const runId = fields.runId;
  if (runId !== null && typeof runId !== 'string') throw malformed('"runId" is neither text nor null');
  const expiresAt = text('expiresAt');
  if (Number.isNaN(Date.parse(expiresAt))) throw malformed('"expiresAt" is not a time');
  return {
    user: text('user'),
    password: text('password'),
    host: text('host'),
    port,
    database: text('database'),
    url: text('url'),
    expiresAt,
    tokenId: text('tokenId'),
    role: text('role'),
    subject: text('subject'),
    reason: text('reason', true),
    runId,
    psql: text('psql'),
  };
}

function malformed(detail: string): Error {
  return new Error(
    `the gateway answered 200 but not with connection details (${detail}); is --gateway the Airlock HTTP API?`,
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
