/**
 * A JDBC driver (pgjdbc from Debian's libpostgresql-jdbc-java) works through the gateway unchanged.
 * CI installs Java and the driver (.ci/run); elsewhere the suite runs when both are present.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const run = promisify(execFile);
const JAR = '/usr/share/java/postgresql.jar';
const PROBE = new URL('./jdbc/JdbcProbe.java', import.meta.url).pathname;

async function javaAvailable(): Promise<boolean> {
  if (!existsSync(JAR)) return false;
  return run('java', ['-version']).then(
    () => true,
    () => false,
  );
}

const available = await javaAvailable();
if (!available && process.env.CI) {
  throw new Error(
    `CI must run the JDBC suite: install a JRE and libpostgresql-jdbc-java (${JAR}); .ci/run does`,
  );
}

describe.runIf(available)('JDBC (pgjdbc) through the gateway', () => {
  let db: RealPostgres;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db);
  });
  afterAll(async () => {
    await gw?.close();
    await db?.stop();
  });

  it('runs simple, server-prepared and batched statements, transactions and errors', async () => {
    const token = await gw.issue();
    const url = `jdbc:postgresql://${gw.host}:${gw.port}/shop?sslmode=disable&prepareThreshold=3`;
    const { stdout } = await run('java', ['-cp', JAR, PROBE, url, token.tokenId, token.secret], {
      timeout: 60_000,
    });
    expect(stdout.trim().split('\n')).toEqual([
      'simple 42',
      'prepared 72',
      'batch 100',
      'after-rollback 100',
      'error 42P01',
      'server PostgreSQL',
    ]);
  }, 90_000);
});
