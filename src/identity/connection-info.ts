/** Turns an issued token into what an agent needs to connect: fields, a URL and a ready psql command. */
import { isLoopbackHost } from '../config/loopback-host.js';
import type { IssuedToken } from './issue-token.js';

/** Everything a client needs to reach the gateway with this token (includes the secret: show once). */
export interface ConnectionInfo {
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** postgres://user:secret@host:port/database */
  readonly url: string;
  /** ISO 8601. */
  readonly expiresAt: string;
  readonly tokenId: string;
  readonly role: string;
  readonly subject: string;
  readonly reason: string;
  readonly runId: string | null;
  /** `psql "postgres://…?sslmode=…"`, ready to paste. */
  readonly psql: string;
}

/**
 * Builds connection details for an issued token. A wildcard listen host (0.0.0.0, ::) becomes
 * 127.0.0.1; sslmode defaults to disable for loopback hosts and require otherwise.
 */
export function buildConnectionInfo(
  issued: IssuedToken,
  listen: { readonly host: string; readonly port: number },
  options?: { readonly sslmode?: string },
): ConnectionInfo {
  const host = isWildcard(listen.host) ? '127.0.0.1' : listen.host;
  const sslmode = options?.sslmode ?? (isLoopbackHost(host) ? 'disable' : 'require');
  const authority = `${encodeUrlPart(issued.tokenId)}:${encodeUrlPart(issued.secret)}@${urlHost(host)}:${listen.port}`;
  const url = `postgres://${authority}/${encodeUrlPart(issued.upstream)}`;
  return {
    user: issued.tokenId,
    password: issued.secret,
    host,
    port: listen.port,
    database: issued.upstream,
    url,
    expiresAt: new Date(issued.expiresAt).toISOString(),
    tokenId: issued.tokenId,
    role: issued.role,
    subject: issued.subject,
    reason: issued.reason,
    runId: issued.runId,
    psql: `psql "${url}?sslmode=${encodeUrlPart(sslmode)}"`,
  };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * encodeURIComponent plus the five characters it leaves alone (! ' ( ) *), so the URL is also safe
 * inside the double quotes of the psql command (no history expansion, no quote breaking).
 */
function encodeUrlPart(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
