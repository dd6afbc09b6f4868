/**
 * Estimates how many rows a held DELETE/UPDATE would touch, for the reviewer: `EXPLAIN (FORMAT JSON)` on
 * the gateway's side connection, never ANALYZE, inside a read-only transaction that is rolled back, with
 * the session's pinned search_path and a statement timeout. The extended protocol refuses a text holding
 * more than one statement, so nothing but the EXPLAIN can run.
 */
import type { UpstreamConfig } from '../../config/config-types.js';
import {
  encodeBind,
  encodeExecute,
  encodeParse,
  encodeQuery,
  encodeSync,
} from '../../wire/postgres/frontend-encoders.js';
import { SideConnection } from './side-connection.js';

export class PlanEstimator {
  private readonly connection: SideConnection;

  constructor(
    upstream: UpstreamConfig,
    private readonly timeoutMs: number,
  ) {
    this.connection = new SideConnection(upstream, 'estimate', timeoutMs);
  }

  /** The EXPLAIN output (JSON text) of `sql` with `params` bound as text; throws if the server refuses. */
  async explain(sql: string, params: readonly (string | null)[], searchPath: string): Promise<string> {
    const setup = `BEGIN READ ONLY; SET LOCAL search_path = ${searchPath}; SET LOCAL statement_timeout = ${this.timeoutMs}`;
    const bytes = Buffer.concat([
      encodeQuery(setup),
      encodeParse('', `EXPLAIN (FORMAT JSON) ${sql}`),
      encodeBind('', '', params),
      encodeExecute(''),
      encodeSync(),
      encodeQuery('ROLLBACK'),
    ]);
    const answer = await this.connection.exchange(bytes, 3);
    if (answer.error !== undefined) throw new Error(`EXPLAIN refused: ${answer.error}`);
    const plan = answer.rows[0]?.[0];
    if (typeof plan !== 'string') throw new Error('EXPLAIN returned no plan');
    return plan;
  }

  close(): void {
    this.connection.close();
  }
}
