/** openAuditLog: the gateway's writer for each audit.durability, and the CLI's inline writer, all on one chain. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load-config.js';
import { openStore } from '../store/open-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { openAuditLog } from './open-audit-log.js';
import { verifyAuditTrail } from './verify-chain.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-open-audit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function config(durability: string) {
  return parseConfigText(
    [
      'listen:',
      '  postgres: 127.0.0.1:0',
      'store: sqlite:./airlock.db',
      'upstreams:',
      '  shop: { url: "postgres://u@127.0.0.1:5432/shop", tls: disable }',
      'roles:',
      '  r: { upstream: shop }',
      'audit:',
      '  instance: gw-open',
      '  checkpoint_interval: 100ms',
      `  durability: ${durability}`,
    ].join('\n'),
    { baseDir: dir, source: null, env: {} },
  );
}

describe('openAuditLog', () => {
  it.each(['fsync', 'os'])(
    'durability %s: the gateway writer and the CLI extend one verifiable chain',
    async (durability) => {
      const cfg = config(durability);
      const store = openStore(cfg.store);
      const gateway = openAuditLog(cfg, store, { mode: 'gateway' });
      const cli = openAuditLog(cfg, store);
      const first = await gateway.log.record({ kind: 'session.started' });
      await cli.log.record({ kind: 'token.issued' });
      const last = await gateway.log.record({ kind: 'session.ended' });
      expect([first.seq, last.seq]).toEqual([1, 3]);
      // The timed checkpoint signs the head without a flush (an earlier tick may have signed seq 1 or 2).
      await expect
        .poll(async () => (await store.readAudit({ instance: 'gw-open' })).checkpoints.at(-1)?.seq, {
          timeout: 3000,
        })
        .toBe(3);
      await gateway.log.close();
      await store.close();

      const reread = new SqliteStore(cfg.store.path);
      const { events, checkpoints } = await reread.readAudit({ instance: 'gw-open' });
      await reread.close();
      const publicKeyPem = readFileSync(`${cfg.audit.signingKeyPath}.pub`, 'utf8');
      expect(verifyAuditTrail({ events, checkpoints, publicKeyPem })).toMatchObject({
        ok: true,
        lastVerifiedSeq: 3,
      });
      expect(events.map((e) => e.kind)).toEqual(['session.started', 'token.issued', 'session.ended']);
    },
  );

  it('gives the gateway a connection of its own with the configured durability, and the CLI the store', async () => {
    const store = openStore(config('fsync').store);
    const opened = [
      openAuditLog(config('fsync'), store, { mode: 'gateway' }),
      openAuditLog(config('os'), store, { mode: 'gateway' }),
      openAuditLog(config('fsync'), store),
    ];
    expect(opened.map((o) => o.writer)).toEqual(['own-connection-fsync', 'own-connection-os', 'inline']);
    for (const o of opened) await o.log.close();
    await store.close();
  });
});
