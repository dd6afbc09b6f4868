/** `host:port` parsing and host-name validation for listen addresses and upstream URLs. */
import { isIP } from 'node:net';
import type { HostPort } from './config-types.js';

const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);
const BRACKETED = /^\[([^\]]+)\]:(\d{1,5})$/;
const PLAIN = /^([^:[\]]+):(\d{1,5})$/;

/** True for an IPv4 or IPv6 literal (unbracketed) or a syntactically valid DNS name. */
export function isValidHost(host: string): boolean {
  return isIP(host) !== 0 || HOSTNAME.test(host);
}

/** Parses `host:port` or `[ipv6]:port` (port 0-65535); throws an Error whose message says what is wrong. */
export function parseHostPort(text: string): HostPort {
  const bracketed = BRACKETED.exec(text);
  const match = bracketed ?? PLAIN.exec(text);
  if (match === null) throw new Error(`"${text}" is not host:port`);
  const host = match[1] ?? '';
  const port = Number(match[2]);
  if (bracketed !== null ? isIP(host) !== 6 : !isValidHost(host))
    throw new Error(`"${host}" is not a valid host`);
  if (port > 65_535) throw new Error(`port ${port} is out of range (0-65535)`);
  return { host, port };
}
