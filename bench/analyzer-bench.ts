/**
 * `npm run bench:analyzer`: time to analyse a statement the gateway has not seen (parse + facts) and to
 * decide a cached one, for typical statements. Prints median and p95 per statement.
 */
import { AnalysisCache } from '../src/policy/analysis-cache.js';
import { analyzeSql } from '../src/policy/analyze-sql.js';
import { loadSqlParser } from '../src/policy/sql-parser.js';

const STATEMENTS: Record<string, string> = {
  'pgbench select': 'SELECT abalance FROM pgbench_accounts WHERE aid = $1',
  'pgbench update': 'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2',
  'pgbench insert':
    'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)',
  '3-table join':
    'SELECT c.full_name, o.id, sum(i.quantity * i.unit_price_cents) AS total FROM customers c JOIN orders o ON o.customer_id = c.id JOIN order_items i ON i.order_id = o.id WHERE o.status = $1 GROUP BY c.full_name, o.id ORDER BY total DESC LIMIT 20',
  'CTE + subquery':
    "WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval '7 days') SELECT status, count(*) FROM recent WHERE customer_id IN (SELECT id FROM customers WHERE city = 'Lyon') GROUP BY status",
  'insert returning':
    "INSERT INTO orders (customer_id, status, total_cents) VALUES (1, 'new', 1200) RETURNING id",
};
const SEARCH_PATH = ['public'];
const ROUNDS = 2000;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

await loadSqlParser();
const rows: string[][] = [['statement', 'new: median µs', 'new: p95 µs', 'cached: median µs']];
for (const [name, sql] of Object.entries(STATEMENTS)) {
  const fresh: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // A distinct text every round, so nothing is cached anywhere: what a new statement costs.
    const text = `${sql} /* ${i} */`;
    const start = process.hrtime.bigint();
    const result = analyzeSql(text, SEARCH_PATH);
    fresh.push(Number(process.hrtime.bigint() - start) / 1000);
    if (!result.ok) throw new Error(`${name}: ${result.reason}`);
  }
  const cache = new AnalysisCache();
  cache.analyze(sql, SEARCH_PATH);
  const cached: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    cache.analyze(sql, SEARCH_PATH);
    cached.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  fresh.sort((a, b) => a - b);
  cached.sort((a, b) => a - b);
  rows.push([
    name,
    percentile(fresh, 0.5).toFixed(1),
    percentile(fresh, 0.95).toFixed(1),
    percentile(cached, 0.5).toFixed(2),
  ]);
}
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
for (const row of rows) {
  process.stdout.write(
    `${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')}\n`,
  );
}
process.stdout.write(`\n${ROUNDS} rounds each; target: new-statement median under 200 µs.\n`);
