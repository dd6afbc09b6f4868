/**
 * `npm run bench:audit`: raw append throughput of the audit log (events/s) and the latency a caller
 * waits for its event to be durable, by writer (the store's own connection, the gateway's committer,
 * or the bench-only journal probe),
 * durability (fsync'd or OS) and the number of callers waiting at once (what group commit can batch).
 * One run; compare within it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreCommitter } from '../src/audit/audit-committer.js';
import type { AuditEventBody } from '../src/audit/audit-event.js';
import { AuditLog } from '../src/audit/audit-log.js';
import { generateAuditSigningKey } from '../src/audit/checkpoint.js';
import { GatewayCommitter } from '../src/audit/gateway-committer.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { JournalProbe } from './lib/probe-committers.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const KEY = generateAuditSigningKey();

/** A statement.decided event as a pgbench -S session produces it. */
const BODY: Omit<AuditEventBody, 'at'> = {
  kind: 'statement.decided',
  who: { tokenId: 'tok_4f1c2a9e8b7d', subject: 'github:acme/shop:ci.yml', role: 'bench' },
  why: { reason: 'PR #42: fix order totals', runId: '9876543210-1' },
  where: { sessionId: 's_01HZX3', client: '127.0.0.1:53412', upstream: 'bench' },
  what: {
    statement: 17,
    sql: 'SELECT abalance FROM pgbench_accounts WHERE aid = 48213;',
    via: 'simple-query',
    decision: 'allow',
    rules: ['roles.bench.allow[0]'],
    tables: ['public.pgbench_accounts'],
    accesses: [{ table: 'public.pgbench_accounts', operation: 'select' }],
  },
};

interface Result {
  readonly eventsPerSecond: number;
  readonly meanWaitMs: number;
}

/** `callers` loops, each recording one event and waiting for it before the next, for SECONDS. */
async function measure(log: AuditLog, callers: number): Promise<Result> {
  let events = 0;
  let waited = 0;
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        const start = performance.now();
        await log.record(BODY);
        waited += performance.now() - start;
        events++;
      }
    }),
  );
  return { eventsPerSecond: events / SECONDS, meanWaitMs: waited / events };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-audit-bench-'));
  const rows: string[][] = [];
  try {
    for (const synchronous of ['full', 'normal'] as const) {
      for (const writer of ['store', 'gateway', 'journal-probe'] as const) {
        for (const callers of [1, 8, 64]) {
          const storePath = path.join(dir, `${synchronous}-${writer}-${callers}.db`);
          const store = new SqliteStore(storePath, { synchronous });
          const chain = { instance: 'bench', privateKeyPem: KEY.privateKeyPem, checkpointEvery: 1000 };
          const committer =
            writer === 'store'
              ? new StoreCommitter(store, { ...chain, now: Date.now })
              : writer === 'gateway'
                ? new GatewayCommitter(
                    storePath,
                    { ...chain, now: Date.now },
                    synchronous === 'full' ? 'fsync' : 'os',
                  )
                : new JournalProbe(`${storePath}.journal`, synchronous === 'full');
          const log = new AuditLog({ committer, now: Date.now });
          await log.record(BODY); // opens the thread and the file before timing
          const result = await measure(log, callers);
          await log.close();
          await store.close();
          rows.push([
            synchronous === 'full' ? 'fsync' : 'os',
            writer,
            String(callers),
            result.eventsPerSecond.toFixed(0),
            result.meanWaitMs.toFixed(3),
          ]);
          process.stderr.write(`bench: ${rows.at(-1)?.join(' ')}\n`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const header = ['durability', 'writer', 'callers', 'events/s', 'mean wait ms'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const render = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  process.stdout.write(
    [
      '',
      `audit append, ${SECONDS} s per cell, ${os.cpus().length} CPUs, store in ${os.tmpdir()}; Node ${process.version}`,
      '',
      render(header),
      widths.map((w) => '-'.repeat(w)).join('  '),
      ...rows.map(render),
      '',
    ].join('\n'),
  );
}

await main();
