import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rotatedPath } from './rotating-file-sink.js';
import {
  completeLinesBackward,
  readSinkState,
  recoverSinkProgress,
  SinkStateError,
  sinkStatePath,
  writeSinkState,
} from './sink-progress.js';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-progress-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function collect(path: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of completeLinesBackward(path)) lines.push(line);
  return lines;
}

const event = (seq: number, hash = HASH_A, instance = 'gw-1') =>
  JSON.stringify({ type: 'event', instance, seq, hash, kind: 'session.started' });
const checkpoint = (seq: number, instance = 'gw-1') =>
  JSON.stringify({ type: 'checkpoint', instance, seq, headHash: HASH_A, signature: 'x' });

describe('sink state file', () => {
  it('is a dot file beside the sink, so an audit.jsonl* glob misses it', () => {
    expect(sinkStatePath('/var/log/airlock/audit.jsonl')).toBe('/var/log/airlock/.audit.jsonl.state');
  });

  it('round-trips progress, atomically and privately (no temp file left)', async () => {
    const path = join(dir, '.audit.jsonl.state');
    expect(await readSinkState(path)).toBeUndefined();
    const progress = { instance: 'gw-1', seq: 42, hash: HASH_A, checkpointSeq: 40 };
    await writeSinkState(path, progress);
    await writeSinkState(path, { ...progress, seq: 43, hash: HASH_B });
    expect(await readSinkState(path)).toEqual({ ...progress, seq: 43, hash: HASH_B });
    expect(readdirSync(dir)).toEqual(['.audit.jsonl.state']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses a damaged state file', async () => {
    const path = join(dir, 'state');
    for (const text of [
      '{"seq":',
      '{"format":"airlock-audit-sink-state/1","instance":"gw-1","seq":-1}',
      '[]',
    ]) {
      writeFileSync(path, text);
      await expect(readSinkState(path)).rejects.toBeInstanceOf(SinkStateError);
    }
  });
});

describe('completeLinesBackward', () => {
  it('yields complete lines last first across chunk boundaries, skipping a torn tail', async () => {
    const path = join(dir, 'audit.jsonl');
    const long = 'y'.repeat(150_000);
    writeFileSync(path, `first\n${long}\nthird\n{"torn`);
    expect(await collect(path)).toEqual(['third', long, 'first']);
    expect(await collect(join(dir, 'missing'))).toEqual([]);
    writeFileSync(path, 'no newline at all');
    expect(await collect(path)).toEqual([]);
  });
});

describe('recoverSinkProgress', () => {
  it('takes the last event line of the instance and the checkpoints after it', async () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(
      path,
      [event(1), event(2, HASH_B), checkpoint(2), event(1, HASH_A, 'gw-other'), ''].join('\n'),
    );
    expect(await recoverSinkProgress(path, 3, 'gw-1')).toEqual({
      instance: 'gw-1',
      seq: 2,
      hash: HASH_B,
      checkpointSeq: 2,
    });
  });

  it('re-ships the checkpoint of the last event when no checkpoint line follows it', async () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, [checkpoint(4), event(5), 'not json', ''].join('\n'));
    expect(await recoverSinkProgress(path, 3, 'gw-1')).toMatchObject({ seq: 5, checkpointSeq: 4 });
  });

  it('looks into the rotated files when the active one has no event (just rotated)', async () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, '');
    writeFileSync(rotatedPath(path, 1), `${event(7)}\n`);
    expect(await recoverSinkProgress(path, 3, 'gw-1')).toMatchObject({ seq: 7, checkpointSeq: 6 });
    expect(await recoverSinkProgress(path, 3, 'gw-2')).toBeUndefined();
    expect(existsSync(rotatedPath(path, 2))).toBe(false);
  });
});
