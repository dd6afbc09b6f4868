import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { createLogger } from '../observability/logger.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { ChainedAuditEvent } from './audit-event.js';
import { AuditLog } from './audit-log.js';
import { AuditShipper, type AuditShipperDeps } from './audit-shipper.js';
import { type AuditCheckpoint, generateAuditSigningKey } from './checkpoint.js';
import { type LineSink, RotatingFileSink, rotatedPath } from './rotating-file-sink.js';
import { readSinkState, sinkStatePath, writeSinkState } from './sink-progress.js';
import { verifyAuditTrail } from './verify-chain.js';

const KEY = generateAuditSigningKey();
const INSTANCE = 'gw-test';
const KEEP = 50;

let dir: string;
let sinkPath: string;
let store: SqliteStore;
let log: AuditLog;
let logs: string[];
const running: AuditShipper[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-shipper-'));
  sinkPath = join(dir, 'sink', 'audit.jsonl');
  store = new SqliteStore(join(dir, 'airlock.db'));
  log = new AuditLog({
    store,
    instance: INSTANCE,
    privateKeyPem: KEY.privateKeyPem,
    checkpointEvery: 4,
    now: Date.now,
  });
  logs = [];
});
afterEach(async () => {
  for (const shipper of running.splice(0)) await shipper.stop(1000);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function fileSink(maxBytes = 1024 * 1024): RotatingFileSink {
  return new RotatingFileSink({ path: sinkPath, maxBytes, keep: KEEP });
}

/** A started shipper on the test store; poll is an hour unless given, so only notify() wakes it. */
function startShipper(overrides: Partial<AuditShipperDeps> = {}): AuditShipper {
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const shipper = new AuditShipper({
    store,
    instance: INSTANCE,
    sink: fileSink(),
    sinkPath,
    keep: KEEP,
    pollMs: 3_600_000,
    logger: createLogger('debug', output),
    maxBackoffMs: 20,
    ...overrides,
  });
  shipper.start();
  running.push(shipper);
  return shipper;
}

/** Wires the log's commits to the shipper, as startGateway does. */
function connect(shipper: AuditShipper): AuditShipper {
  log.onCommitted((seq) => shipper.notify(seq));
  return shipper;
}

async function stopShipper(shipper: AuditShipper): Promise<void> {
  running.splice(running.indexOf(shipper), 1);
  await shipper.stop(2000);
}

/** Records `count` events in one turn (one commit); resolves with the stored events. */
function record(count: number, kind: 'session.started' | 'session.ended' = 'session.started') {
  return Promise.all(
    Array.from({ length: count }, (_, i) => log.record({ kind, where: { sessionId: `s_${i}` } })),
  );
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every shipped line, oldest file first. */
function shipped(): Record<string, unknown>[] {
  const files = [...Array.from({ length: KEEP }, (_, i) => rotatedPath(sinkPath, KEEP - i)), sinkPath];
  return files
    .filter((file) => existsSync(file))
    .flatMap((file) => readFileSync(file, 'utf8').split('\n').slice(0, -1))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function shippedEvents(): ChainedAuditEvent[] {
  return shipped()
    .filter((r) => r.type === 'event')
    .map(({ type: _type, ...event }) => event as unknown as ChainedAuditEvent);
}

function shippedCheckpoints(): AuditCheckpoint[] {
  return shipped()
    .filter((r) => r.type === 'checkpoint')
    .map(({ type: _type, ...c }) => c as unknown as AuditCheckpoint);
}

const seqs = (events: readonly { seq: number }[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('AuditShipper', () => {
  it('ships each committed event once, in order, exactly as stored, soon after notify()', async () => {
    const shipper = connect(startShipper());
    await record(4);
    await until(() => shipper.shippedSeq === 4, 'seq 4');
    await record(5, 'session.ended');
    await until(() => shipper.shippedSeq === 9, 'seq 9');
    const stored = await store.readAudit({ instance: INSTANCE });
    expect(shippedEvents()).toEqual(stored.events);
    expect(shippedCheckpoints()).toEqual(stored.checkpoints);
    expect(seqs(stored.checkpoints)).toEqual([4, 9]);
    // Each checkpoint follows the event it covers, so a consumer can verify as it reads.
    expect(shipped().map((r) => `${String(r.type)}:${String(r.seq)}`)).toEqual([
      'event:1',
      'event:2',
      'event:3',
      'event:4',
      'checkpoint:4',
      ...range(5, 9).map((s) => `event:${s}`),
      'checkpoint:9',
    ]);
    expect(
      verifyAuditTrail({
        events: shippedEvents(),
        checkpoints: shippedCheckpoints(),
        publicKeyPem: KEY.publicKeyPem,
      }),
    ).toMatchObject({ ok: true, checkedEvents: 9, lastVerifiedSeq: 9 });
    expect(await readSinkState(sinkStatePath(sinkPath))).toEqual({
      instance: INSTANCE,
      seq: 9,
      hash: stored.events[8]?.hash,
      checkpointSeq: 9,
    });
  });

  it('reads a long backlog in pages and keeps the order across rotated files', async () => {
    for (let i = 0; i < 10; i++) await record(10);
    const shipper = startShipper({ pageSize: 7, sink: fileSink(4096) });
    await until(() => shipper.shippedSeq === 100, 'seq 100');
    expect(seqs(shippedEvents())).toEqual(range(1, 100));
    expect(existsSync(rotatedPath(sinkPath, 2))).toBe(true);
  });

  it('picks up events committed by another process on its poll', async () => {
    const shipper = startShipper({ pollMs: 20 }); // not connected to the log: no notify()
    await record(5);
    await until(() => shipper.shippedSeq === 5, 'seq 5');
  });

  it('ships everything at stop(), including the checkpoint the shutdown flush signs', async () => {
    const shipper = connect(startShipper());
    await record(2);
    await log.flush();
    await stopShipper(shipper);
    expect(seqs(shippedEvents())).toEqual([1, 2]);
    expect(seqs(shippedCheckpoints())).toEqual([2]);
  });

  it('resumes after the last shipped event from the state file', async () => {
    const first = connect(startShipper());
    await record(10);
    await until(() => first.shippedSeq === 10, 'seq 10');
    await stopShipper(first);
    await record(5);
    const second = startShipper();
    await until(() => second.shippedSeq === 15, 'seq 15');
    expect(seqs(shippedEvents())).toEqual(range(1, 15));
    expect(seqs(shippedCheckpoints())).toEqual([10, 15]);
  });

  it('recovers its position from the last complete line when the state file is lost', async () => {
    const first = connect(startShipper());
    await record(10);
    await until(() => first.shippedSeq === 10, 'seq 10');
    await stopShipper(first);
    unlinkSync(sinkStatePath(sinkPath));
    await appendFile(sinkPath, '{"type":"event","seq":11,"instance":"gw-te'); // a torn write
    await record(5);
    const second = startShipper();
    await until(() => second.shippedSeq === 15, 'seq 15');
    expect(seqs(shippedEvents())).toEqual(range(1, 15));
    expect(seqs(shippedCheckpoints())).toEqual([10, 15]);
    expect(logs.some((l) => l.includes('"from":"sink file"'))).toBe(true);
  });

  it('falls back to the sink file when the state file is damaged', async () => {
    const first = connect(startShipper());
    await record(3);
    await until(() => first.shippedSeq === 3, 'seq 3');
    await stopShipper(first);
    writeFileSync(sinkStatePath(sinkPath), '{"format":');
    await record(2);
    const second = startShipper();
    await until(() => second.shippedSeq === 5, 'seq 5');
    expect(seqs(shippedEvents())).toEqual(range(1, 5));
    expect(logs.some((l) => l.includes('ignoring a damaged state file'))).toBe(true);
  });

  it('ships from seq 1 again when the store does not hold the last shipped event', async () => {
    await record(3);
    mkdirSync(join(dir, 'sink'));
    await writeSinkState(sinkStatePath(sinkPath), {
      instance: INSTANCE,
      seq: 2,
      hash: 'f'.repeat(64),
      checkpointSeq: 0,
    });
    const shipper = startShipper();
    await until(() => shipper.shippedSeq === 3, 'seq 3');
    expect(seqs(shippedEvents())).toEqual([1, 2, 3]);
    expect(logs.some((l) => l.includes('does not hold the last shipped event'))).toBe(true);
  });

  it('retries a failing sink with backoff, losing and duplicating nothing, and warns once', async () => {
    const metrics = new GatewayMetrics();
    const inner = fileSink();
    let failuresLeft = 3;
    const failing: LineSink = {
      append: async (lines) => {
        if (failuresLeft > 0) {
          failuresLeft--;
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        await inner.append(lines);
      },
      close: () => inner.close(),
    };
    const shipper = connect(startShipper({ sink: failing, metrics }));
    await record(4);
    await record(4);
    await until(() => shipper.shippedSeq === 8, 'seq 8');
    expect(seqs(shippedEvents())).toEqual(range(1, 8));
    const warnings = logs.filter((l) => l.includes('shipping failed'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('ENOSPC');
    expect(warnings[0]).not.toContain('s_0'); // never an event's content
    expect(logs.some((l) => l.includes('shipping again') && l.includes('"failures":3'))).toBe(true);
    const text = await metrics.registry.metrics();
    expect(text).toContain('airlock_audit_sink_errors_total 3');
    expect(text).toContain('airlock_audit_sink_lag_events 0');
  });

  it('ships a batch again, whole, when it failed after writing part of it (at least once)', async () => {
    const inner = fileSink();
    let failOnce = true;
    const tearing: LineSink = {
      append: async (lines) => {
        if (failOnce && lines.length > 1) {
          failOnce = false;
          await inner.append(lines.slice(0, 2));
          throw new Error('EIO: i/o error, write');
        }
        await inner.append(lines);
      },
      close: () => inner.close(),
    };
    await record(3);
    const shipper = startShipper({ sink: tearing });
    await until(() => shipper.shippedSeq === 3, 'seq 3');
    expect(seqs(shippedEvents())).toEqual([1, 2, 1, 2, 3]);
    expect(new Set(seqs(shippedEvents()))).toEqual(new Set([1, 2, 3]));
  });

  it('keeps going through a sink directory that cannot be created, then catches up', async () => {
    writeFileSync(join(dir, 'sink'), 'not a directory');
    const metrics = new GatewayMetrics();
    const shipper = connect(startShipper({ metrics }));
    await record(5);
    await until(() => logs.some((l) => l.includes('shipping failed')), 'a failure');
    await record(5); // recording is unaffected by the broken sink
    expect(shipper.shippedSeq).toBe(0);
    expect(shipper.lag).toBe(10);
    expect(await metrics.registry.metrics()).toContain('airlock_audit_sink_lag_events 10');
    rmSync(join(dir, 'sink'));
    await until(() => shipper.shippedSeq === 10, 'seq 10');
    expect(seqs(shippedEvents())).toEqual(range(1, 10));
  });

  it('never slows recording: events pile up in the store while a slow sink writes, then all arrive in order', async () => {
    const inner = fileSink();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let writes = 0;
    const slow: LineSink = {
      append: async (lines) => {
        writes++;
        await held; // the first write hangs until released; later ones are just slow
        await new Promise((r) => setTimeout(r, 20));
        await inner.append(lines);
      },
      close: () => inner.close(),
    };
    const shipper = connect(startShipper({ sink: slow, pageSize: 25 }));
    await record(1);
    await until(() => writes === 1, 'the first write');
    for (let i = 0; i < 20; i++) await record(5);
    expect(shipper.shippedSeq).toBe(0);
    expect(shipper.lag).toBe(101);
    release();
    await until(() => shipper.shippedSeq === 101, 'seq 101');
    expect(seqs(shippedEvents())).toEqual(range(1, 101));
  });

  it('stop() retries a failing sink at once and ships the rest when it is back', async () => {
    const inner = fileSink();
    let broken = true;
    const flaky: LineSink = {
      append: async (lines) => {
        if (broken) throw new Error('EACCES: permission denied, open');
        await inner.append(lines);
      },
      close: () => inner.close(),
    };
    const shipper = connect(startShipper({ sink: flaky, maxBackoffMs: 3_600_000 }));
    await record(3);
    await until(() => logs.some((l) => l.includes('shipping failed')), 'a failure');
    // Tries at 0, 100, 300 and 700 ms; the next one would be at 1500 ms, past stop()'s deadline.
    await new Promise((r) => setTimeout(r, 800));
    broken = false;
    running.splice(running.indexOf(shipper), 1);
    await shipper.stop(400);
    expect(seqs(shippedEvents())).toEqual([1, 2, 3]);
  });

  it('stop() gives up on a sink that keeps failing, leaving the events in the store', async () => {
    const broken: LineSink = {
      append: async () => {
        throw new Error('EACCES: permission denied, open');
      },
      close: async () => {},
    };
    const shipper = connect(startShipper({ sink: broken }));
    await record(3);
    const started = Date.now();
    running.splice(running.indexOf(shipper), 1);
    await shipper.stop(100);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(shipper.shippedSeq).toBe(0);
    expect(logs.some((l) => l.includes('stopping before every event was shipped'))).toBe(true);
    expect((await store.readAudit({ instance: INSTANCE })).events).toHaveLength(3);
  });
});
