import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RotatingFileSink, rotatedPath } from './rotating-file-sink.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-sink-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Lines of exactly `width` bytes with their newline: `L0001…`. */
function lines(from: number, count: number, width = 10): string[] {
  return Array.from({ length: count }, (_, i) => `L${String(from + i).padStart(width - 2, '0')}`);
}

function read(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(0, -1) : [];
}

describe('RotatingFileSink', () => {
  it('creates the directory (0700) and the file (0640) and appends whole lines', async () => {
    const path = join(dir, 'logs', 'audit.jsonl');
    const sink = new RotatingFileSink({ path, maxBytes: 1024, keep: 2 });
    await sink.append(['{"a":1}', '{"b":"é"}']);
    await sink.append(['{"c":3}']);
    await sink.close();
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"b":"é"}\n{"c":3}\n');
    expect(statSync(join(dir, 'logs')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o640 & ~process.umask());
  });

  it('rotates when the next line would pass maxBytes, never splitting a line', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = new RotatingFileSink({ path, maxBytes: 30, keep: 5 });
    await sink.append(lines(1, 3)); // exactly 30 bytes: still fits
    expect(read(rotatedPath(path, 1))).toEqual([]);
    await sink.append(lines(4, 4));
    await sink.close();
    expect(read(rotatedPath(path, 2))).toEqual(lines(1, 3));
    expect(read(rotatedPath(path, 1))).toEqual(lines(4, 3));
    expect(read(path)).toEqual(lines(7, 1));
    for (const file of [path, rotatedPath(path, 1), rotatedPath(path, 2)]) {
      expect(statSync(file).size).toBeLessThanOrEqual(30);
    }
  });

  it('keeps `keep` rotated files, newest first, and deletes older ones', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = new RotatingFileSink({ path, maxBytes: 20, keep: 2 });
    for (let i = 1; i <= 10; i += 2) await sink.append(lines(i, 2)); // one file per call
    await sink.close();
    expect(read(path)).toEqual(lines(9, 2));
    expect(read(rotatedPath(path, 1))).toEqual(lines(7, 2));
    expect(read(rotatedPath(path, 2))).toEqual(lines(5, 2));
    expect(existsSync(rotatedPath(path, 3))).toBe(false);
  });

  it('gives a line longer than maxBytes a file of its own', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = new RotatingFileSink({ path, maxBytes: 20, keep: 3 });
    const long = 'x'.repeat(50);
    await sink.append(['short', long, 'after']);
    await sink.close();
    expect(read(rotatedPath(path, 2))).toEqual(['short']);
    expect(read(rotatedPath(path, 1))).toEqual([long]);
    expect(read(path)).toEqual(['after']);
  });

  it('continues an existing file and cuts a torn last line before appending', async () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, 'one\ntwo\n{"torn":');
    const cut: number[] = [];
    const sink = new RotatingFileSink({ path, maxBytes: 1024, keep: 1, onTornTail: (n) => cut.push(n) });
    await sink.append(['three']);
    await sink.close();
    expect(readFileSync(path, 'utf8')).toBe('one\ntwo\nthree\n');
    expect(cut).toEqual([8]);
  });

  it('counts the existing file towards maxBytes', async () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, `${lines(1, 2).join('\n')}\n`);
    const sink = new RotatingFileSink({ path, maxBytes: 25, keep: 1 });
    await sink.append(lines(3, 1));
    await sink.close();
    expect(read(rotatedPath(path, 1))).toEqual(lines(1, 2));
    expect(read(path)).toEqual(lines(3, 1));
  });

  it('fills a gap left by an interrupted rotation instead of deleting a kept file', async () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, 'active\n');
    writeFileSync(rotatedPath(path, 2), 'older\n'); // .1 was renamed to .2, then the process died
    const sink = new RotatingFileSink({ path, maxBytes: 8, keep: 2 });
    await sink.append(['next']);
    await sink.close();
    expect(read(path)).toEqual(['next']);
    expect(read(rotatedPath(path, 1))).toEqual(['active']);
    expect(read(rotatedPath(path, 2))).toEqual(['older']);
  });

  it('rejects while the file cannot be opened and works once it can', async () => {
    const blocker = join(dir, 'logs');
    writeFileSync(blocker, 'a file where the directory should be');
    const path = join(blocker, 'audit.jsonl');
    const sink = new RotatingFileSink({ path, maxBytes: 1024, keep: 1 });
    await expect(sink.append(['a'])).rejects.toMatchObject({ code: expect.stringMatching(/EEXIST|ENOTDIR/) });
    rmSync(blocker);
    await sink.append(['a']);
    await sink.close();
    expect(read(path)).toEqual(['a']);
  });

  it('refuses a line with a newline in it, writing nothing of the batch', async () => {
    const path = join(dir, 'audit.jsonl');
    const sink = new RotatingFileSink({ path, maxBytes: 1024, keep: 1 });
    await expect(sink.append(['ok', 'two\nlines'])).rejects.toThrow(/newline/);
    await sink.close();
    expect(existsSync(path)).toBe(false);
  });
});
