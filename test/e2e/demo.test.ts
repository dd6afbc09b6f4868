/**
 * `airlock demo --check`, the README's first command without the interactive wait: the embedded shop
 * behind the gateway answers through a fresh token, the statement is in the audit trail, and the
 * trail verifies with the demo's public key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAirlockCliAsync } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('airlock demo', () => {
  it('serves the shop through the gateway, records the statement, and the trail verifies', async () => {
    const demo = await runAirlockCliAsync([
      'demo',
      '--check',
      '--dir',
      dir,
      '--port',
      '0',
      '--http-port',
      '0',
    ]);
    expect(demo.stderr).toBe('');
    expect(demo.status).toBe(0);
    expect(demo.stdout).toContain('audit verify --config');
    expect(demo.stdout).toMatch(
      /approval: delete held as apr_[a-z2-7]+ until demo-reviewer approved it, then ran \(DELETE 1\)\n/,
    );
    expect(demo.stdout).toMatch(
      /self-check through the gateway: 200 customers, 500 orders; audit record seq \d+\n/,
    );

    const verify = await runAirlockCliAsync(['audit', 'verify', '--config', join(dir, 'airlock.yaml')]);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/^verified \d+ events of ".+", last checkpoint at seq \d+\n$/);
  }, 60_000);
});
