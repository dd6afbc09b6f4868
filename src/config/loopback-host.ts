/** Decides whether a host name or IP literal means this machine (127.0.0.0/8, ::1, localhost). */
import { isIPv4, isIPv6 } from 'node:net';

/** True for `localhost`, any 127.0.0.0/8 address, `::1` and IPv4-mapped loopback (`::ffff:127.x.y.z`). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost' || bare === 'localhost.') return true;
  if (isIPv4(bare)) return bare.startsWith('127.');
  if (!isIPv6(bare)) return false;
  // The URL parser canonicalises IPv6 (zero compression, mapped IPv4 as hex), so one comparison covers every spelling.
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:/.test(canonical);
}
