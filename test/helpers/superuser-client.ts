/** A superuser session on the harness's database, for suites that set up tables and check them directly. */
import pg from 'pg';
import type { RealPostgres } from './real-postgres.js';

/** A node-postgres client connected to `shop` as the superuser, after running `setupSql` if given. */
export async function superuserClient(db: RealPostgres, setupSql?: string): Promise<pg.Client> {
  const client = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: db.database });
  await client.connect();
  if (setupSql !== undefined) await client.query(setupSql);
  return client;
}
