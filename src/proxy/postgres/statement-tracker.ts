/**
 * Follows named prepared statements and portals of the extended query protocol so the guard sees the
 * SQL behind every Execute, not only behind Parse. Changes made while a batch is assembled can be
 * rolled back when the guard refuses the batch (the upstream never saw it).
 */

import {
  decodeBindNames,
  decodeExecute,
  decodeParse,
  decodeTargetName,
} from '../../wire/postgres/frontend-decoders.js';
import type { Frame } from '../../wire/postgres/message-framer.js';
import { Frontend } from '../../wire/postgres/protocol-constants.js';
import type { GuardStatement } from '../guard.js';

type Undo = () => void;

/** Name → SQL maps for statements and portals ('' is the unnamed one). */
export class StatementTracker {
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, string>();
  private undo: Undo[] = [];

  /** Records the effect of one extended-protocol frame and appends what the guard must judge. */
  noteFrame(frame: Frame, out: GuardStatement[]): void {
    switch (frame.type) {
      case Frontend.Parse: {
        const parse = decodeParse(frame.body);
        this.set(this.statements, parse.statementName, parse.sql);
        out.push({ sql: parse.sql, via: 'parse' });
        return;
      }
      case Frontend.Bind: {
        const { portalName, statementName } = decodeBindNames(frame.body);
        // An unknown statement makes the upstream fail the Bind; keep the portal unknown too.
        const sql = this.statements.get(statementName);
        if (sql === undefined) this.remove(this.portals, portalName);
        else this.set(this.portals, portalName, sql);
        return;
      }
      case Frontend.Execute: {
        const { portalName } = decodeExecute(frame.body);
        const sql = this.portals.get(portalName);
        // Executing an unknown portal fails upstream; the guard still sees that something was attempted.
        out.push({ sql: sql ?? '', via: 'execute' });
        return;
      }
      case Frontend.Close: {
        const { target, name } = decodeTargetName(frame.body, 'Close');
        this.remove(target === 'S' ? this.statements : this.portals, name);
        return;
      }
      case Frontend.Describe:
        decodeTargetName(frame.body, 'Describe');
        return;
      default:
        return;
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

  private set(map: Map<string, string>, name: string, sql: string): void {
    const before = map.get(name);
    map.set(name, sql);
    this.undo.push(() => (before === undefined ? map.delete(name) : map.set(name, before)));
  }

  private remove(map: Map<string, string>, name: string): void {
    const before = map.get(name);
    if (before === undefined) return;
    map.delete(name);
    this.undo.push(() => map.set(name, before));
  }
}
