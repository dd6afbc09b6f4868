/**
 * Follows named prepared statements and portals of the extended query protocol so the guard sees the
 * SQL behind every Execute, not only behind Parse. Names are keyed as the server keys them (their
 * first 63 bytes). Changes made while a batch is assembled can be rolled back when the guard refuses
 * the batch (the upstream never saw it).
 */

import { createHash } from 'node:crypto';
import {
  type BindMessage,
  decodeBind,
  decodeExecute,
  decodeParse,
  decodeTargetName,
} from '../../wire/postgres/frontend-decoders.js';
import type { Frame } from '../../wire/postgres/message-framer.js';
import { Frontend } from '../../wire/postgres/protocol-constants.js';
import type { GuardStatement, PreparedNameChange } from '../guard.js';

type Undo = () => void;

/** A portal: the SQL of the statement it was bound from and its parameter values as recorded. */
interface Portal {
  readonly sql: string;
  readonly params: readonly (string | null)[];
  /** When a value was cut for the record: the SHA-256 of every value in full. */
  readonly paramsDigest?: string;
}

/** Parameter values longer than this (in bytes) are recorded cut, with their full length. */
export const RECORDED_PARAM_BYTES = 2048;

/** PostgreSQL keeps statement and portal names in NAMEDATALEN (64) bytes, terminator included. */
const SERVER_NAME_BYTES = 63;

/**
 * The name as the server's hash tables compare it: its first 63 bytes, cut even inside a character,
 * so `<63 bytes>a` and `<63 bytes>b` are one statement to the server and must be one to the gateway.
 */
export function serverNameKey(name: string): string {
  if (name.length <= SERVER_NAME_BYTES && isAscii(name)) return name;
  return Buffer.from(name, 'utf8').subarray(0, SERVER_NAME_BYTES).toString('latin1');
}

/** Name → SQL maps for statements and portals ('' is the unnamed one). */
export class StatementTracker {
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, Portal>();
  private undo: Undo[] = [];

  /** Records the effect of one extended-protocol frame and appends what the guard must judge. */
  noteFrame(frame: Frame, out: GuardStatement[]): void {
    switch (frame.type) {
      case Frontend.Parse: {
        const parse = decodeParse(frame.body);
        const key = serverNameKey(parse.statementName);
        // The server refuses to Parse into a named statement that exists (42P05) and keeps the old one;
        // so does this map. The unnamed statement is replaced.
        if (key === '' || !this.statements.has(key)) this.set(this.statements, key, parse.sql);
        out.push({ sql: parse.sql, via: 'parse' });
        return;
      }
      case Frontend.Bind: {
        const bind = decodeBind(frame.body);
        // An unknown statement makes the upstream fail the Bind; keep the portal unknown too.
        const sql = this.statements.get(serverNameKey(bind.statementName));
        const portal = serverNameKey(bind.portalName);
        if (sql === undefined) this.remove(this.portals, portal);
        else this.set(this.portals, portal, { sql, ...recordedParams(bind) });
        return;
      }
      case Frontend.Execute: {
        const { portalName } = decodeExecute(frame.body);
        const portal = this.portals.get(serverNameKey(portalName));
        // Executing an unknown portal fails upstream; the guard still sees that something was attempted.
        if (portal === undefined) out.push({ sql: '', via: 'execute' });
        else
          out.push({
            sql: portal.sql,
            via: 'execute',
            params: portal.params,
            ...(portal.paramsDigest === undefined ? {} : { paramsDigest: portal.paramsDigest }),
          });
        return;
      }
      case Frontend.Close: {
        const { target, name } = decodeTargetName(frame.body, 'Close');
        if (target === 'S') this.remove(this.statements, serverNameKey(name));
        else this.remove(this.portals, serverNameKey(name));
        return;
      }
      case Frontend.Describe:
        decodeTargetName(frame.body, 'Describe');
        return;
      default:
        return;
    }
  }

  /**
   * An allowed batch changed prepared-statement names through SQL (PREPARE, DEALLOCATE, DISCARD ALL),
   * which share the server's namespace with Parse: follow it, as the server does.
   */
  applyNameChanges(changes: readonly PreparedNameChange[]): void {
    for (const change of changes) {
      if (change.change === 'deallocate-all') {
        this.statements.clear();
        continue;
      }
      const key = serverNameKey(change.name);
      if (change.change === 'deallocate') this.statements.delete(key);
      else if (!this.statements.has(key)) this.statements.set(key, change.sql);
    }
  }

  /** The batch went upstream: keep its changes. */
  commit(): void {
    this.undo = [];
  }

  /** The batch was refused: forget its changes. */
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
    this.undo = [];
  }

  private set<T>(map: Map<string, T>, name: string, value: T): void {
    const before = map.get(name);
    map.set(name, value);
    this.undo.push(() => (before === undefined ? map.delete(name) : map.set(name, before)));
  }

  private remove<T>(map: Map<string, T>, name: string): void {
    const before = map.get(name);
    if (before === undefined) return;
    map.delete(name);
    this.undo.push(() => map.set(name, before));
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Bound values as the audit trail shows them: text as sent, binary as `\x` hex, NULL as null; values
 * over RECORDED_PARAM_BYTES are cut there and marked with their full length, and then the digest of
 * every value in full tells bindings apart that the record cannot (only then: hashing costs).
 */
function recordedParams(bind: BindMessage): Pick<Portal, 'params' | 'paramsDigest'> {
  let cutAny = false;
  const params = bind.values.map(({ format, value }) => {
    if (value === null) return null;
    const cut = value.length > RECORDED_PARAM_BYTES ? value.subarray(0, RECORDED_PARAM_BYTES) : value;
    const shown = format === 1 ? `\\x${cut.toString('hex')}` : cut.toString('utf8');
    if (cut === value) return shown;
    cutAny = true;
    return `${shown}…[${value.length} bytes]`;
  });
  return cutAny ? { params, paramsDigest: digestValues(bind) } : { params };
}

/** SHA-256 over each value's format, length (-1 for NULL) and bytes. */
function digestValues(bind: BindMessage): string {
  const hash = createHash('sha256');
  const header = Buffer.alloc(5);
  for (const { format, value } of bind.values) {
    header.writeUInt8(format, 0);
    header.writeInt32BE(value === null ? -1 : value.length, 1);
    hash.update(header);
    if (value !== null) hash.update(value);
  }
  return hash.digest('hex');
}
