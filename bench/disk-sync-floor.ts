/**
 * `npm run bench:disk` — the floor under any write-ahead audit with `durability: fsync`: how long one
 * durable 4 KiB write takes on the disk holding the store, appended (the file grows: the file system
 * journals its size too) and overwritten in place in a preallocated file (data only), with
 * `fdatasync` and with `O_DSYNC`. Prints microseconds per durable write, from one run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { dir: { type: 'string', default: os.tmpdir() }, writes: { type: 'string', default: '2000' } },
});
const writes = Number(values.writes);
if (!Number.isInteger(writes) || writes < 10) throw new Error('--writes must be an integer ≥ 10');
const dir = fs.mkdtempSync(path.join(values.dir, 'airlock-disk-floor-'));
const block = Buffer.alloc(4096, 0x61);

function timed(label: string, open: () => number, write: (fd: number, i: number) => void): [string, number] {
  const fd = open();
  const start = process.hrtime.bigint();
  for (let i = 0; i < writes; i++) write(fd, i);
  const micros = Number(process.hrtime.bigint() - start) / 1000 / writes;
  fs.closeSync(fd);
  return [label, micros];
}

function preallocated(name: string, flags: number): () => number {
  return () => {
    const file = path.join(dir, name);
    const fd = fs.openSync(file, 'w');
    const mebibyte = Buffer.alloc(1 << 20);
    for (let written = 0; written < writes * block.length; written += mebibyte.length)
      fs.writeSync(fd, mebibyte);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    return fs.openSync(file, flags);
  };
}

try {
  const { O_RDWR, O_DSYNC } = fs.constants;
  const results = [
    timed(
      'append + fdatasync',
      () => fs.openSync(path.join(dir, 'append'), 'w'),
      (fd, i) => {
        fs.writeSync(fd, block, 0, block.length, i * block.length);
        fs.fdatasyncSync(fd);
      },
    ),
    timed('preallocated overwrite + fdatasync', preallocated('pre', O_RDWR), (fd, i) => {
      fs.writeSync(fd, block, 0, block.length, i * block.length);
      fs.fdatasyncSync(fd);
    }),
    timed('preallocated overwrite, O_DSYNC', preallocated('dsync', O_RDWR | O_DSYNC), (fd, i) => {
      fs.writeSync(fd, block, 0, block.length, i * block.length);
    }),
  ];
  process.stdout.write(`durable 4 KiB writes in ${dir} (${writes} each, one run)\n\n`);
  process.stdout.write('| write | µs per durable write |\n| --- | --- |\n');
  for (const [label, micros] of results) process.stdout.write(`| ${label} | ${micros.toFixed(1)} |\n`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
