/**
 * The sessions a gateway is relaying now: cancel keys handed to agents, lookup for CancelRequest,
 * token revocation sweeps, and ending everything at shutdown. Protocol-neutral.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';

/** What the registry needs from a live session. */
export interface LiveSession {
  readonly sessionId: string;
  readonly tokenId: string;
  readonly processId: number;
  readonly secretKey: number;
  /** Cancels the statement running upstream, if any. */
  cancelRunning(): void;
  /** Ends the session with a reason the agent sees. */
  endBecause(reason: 'expired' | 'revoked' | 'shutdown'): void;
}

export class SessionRegistry {
  private readonly byProcessId = new Map<number, LiveSession>();

  get size(): number {
    return this.byProcessId.size;
  }

  /** A fresh (processId, secretKey) pair, unique among live sessions; the agent sees these, never upstream's. */
  allocateCancelKey(): { processId: number; secretKey: number } {
    for (;;) {
      const processId = randomInt(1, 2 ** 31 - 1);
      if (!this.byProcessId.has(processId)) return { processId, secretKey: randomInt(0, 2 ** 31 - 1) | 0 };
    }
  }

  add(session: LiveSession): void {
    this.byProcessId.set(session.processId, session);
  }

  remove(session: LiveSession): void {
    if (this.byProcessId.get(session.processId) === session) this.byProcessId.delete(session.processId);
  }

  /** The session a CancelRequest names, if its secret matches (compared in constant time). */
  findForCancel(processId: number, secretKey: number): LiveSession | undefined {
    const session = this.byProcessId.get(processId);
    if (session === undefined) return undefined;
    const a = Buffer.alloc(4);
    const b = Buffer.alloc(4);
    a.writeInt32BE(session.secretKey);
    b.writeInt32BE(secretKey | 0);
    return timingSafeEqual(a, b) ? session : undefined;
  }

  /** Token ids with at least one live session. */
  liveTokenIds(): string[] {
    return [...new Set([...this.byProcessId.values()].map((s) => s.tokenId))];
  }

  /** Ends every session of the given tokens. */
  endTokens(tokenIds: ReadonlySet<string>, reason: 'revoked'): void {
    for (const session of [...this.byProcessId.values()]) {
      if (tokenIds.has(session.tokenId)) session.endBecause(reason);
    }
  }

  /** Ends every session (shutdown deadline reached). */
  endAll(): void {
    for (const session of [...this.byProcessId.values()]) session.endBecause('shutdown');
  }
}
