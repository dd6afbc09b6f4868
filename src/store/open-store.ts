/** Builds the Store the config names (SQLite only, for now), creating its file privately on first use. */
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AirlockConfig } from '../config/config-types.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** Opens the configured store; a new SQLite file is created with mode 0600 (it holds token verifiers). */
export function openStore(config: AirlockConfig['store']): Store {
  if (config.path !== ':memory:' && !existsSync(config.path)) {
    mkdirSync(dirname(config.path), { recursive: true, mode: 0o700 });
    // 'a' creates without truncating, so a file that appeared meanwhile is left as it is.
    // SQLite gives the -wal and -shm files the database file's mode.
    closeSync(openSync(config.path, 'a', 0o600));
  }
  return new SqliteStore(config.path);
}
