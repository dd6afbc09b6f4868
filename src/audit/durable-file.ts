/** fsync helpers for files that must survive a crash: directory entries and atomic replacement. */
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsyncs a directory, so a file created, renamed or removed in it stays so after a power loss. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `text` so that a crash leaves either the old or the new content, never a
 * mix: write `<path>.tmp`, fsync it, rename it over `path`, fsync the directory.
 */
export async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await syncDirectory(dirname(path));
}
