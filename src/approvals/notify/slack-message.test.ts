import { describe, expect, it } from 'vitest';
import { sampleNotification } from '../../../test/approvals/sample-notification.js';
import { buildSlackMessage, SLACK_SQL_LIMIT, type SlackMessage } from './slack-message.js';

/** Everything Slack would show, as one string. */
function allText(message: SlackMessage): string {
  return JSON.stringify(message);
}

describe('buildSlackMessage', () => {
  it('shows the statement, who, why, blast radius, expiry and where to act', () => {
    const message = buildSlackMessage(sampleNotification());
    const text = allText(message);
    expect(message.text).toBe(
      'Held statement awaiting 2 approvals: apr_7k2m9q4x8c3v5b6n (role operator, requested by ci:acme/shop)',
    );
    expect(text).toContain('```\\nDELETE FROM orders WHERE customer_email = ');
    expect(text).toContain('ci:acme/shop');
    expect(text).toContain('clean up test orders');
    expect(text).toContain('`run-4711`');
    expect(text).toContain('`roles.operator.approve[0]`: deletes on public.orders need approval');
    expect(text).toContain('~1,234 rows (planner estimate)');
    expect(text).toContain('expires <!date^1735812900^');
    expect(text).toContain('`airlock approvals approve apr_7k2m9q4x8c3v5b6n --reason \\"&lt;why&gt;\\"`');
    expect(text).toContain('`airlock approvals deny apr_7k2m9q4x8c3v5b6n');
    expect(text).toContain('<https://airlock.example.com/v1/approvals/apr_7k2m9q4x8c3v5b6n|');
    for (const block of message.blocks)
      expect(block.type === 'section' || block.type === 'context').toBe(true);
  });

  it('scrubs emails and cards from SQL, parameters and reasons: Slack is a third party', () => {
    const message = buildSlackMessage(
      sampleNotification(
        {},
        {
          reason: 'customer jane.doe@example.com asked',
          statements: [
            {
              sql: "UPDATE users SET phone = '+1 (415) 555-2671' WHERE email = 'jane.doe@example.com'",
              via: 'simple',
            },
            {
              sql: 'DELETE FROM cards WHERE number = $1 AND note = $2',
              via: 'extended',
              params: ['4111 1111 1111 1111', null],
            },
          ],
        },
      ),
    );
    const text = allText(message);
    expect(text).not.toContain('jane.doe@example.com');
    expect(text).not.toContain('4111 1111 1111 1111');
    expect(text).not.toContain('555-2671');
    expect(text).toContain("WHERE email = '[redacted]'");
    expect(text).toContain("$1 = '[redacted]'\\n$2 = NULL");
    expect(text).toContain('*Statement 2 of 2* (via extended)');
  });

  it('the default sample SQL literal (email and card) never reaches Slack in clear', () => {
    const text = allText(buildSlackMessage(sampleNotification()));
    expect(text).not.toContain('jane.doe@example.com');
    expect(text).not.toContain('4111 1111 1111 1111');
  });

  it('escapes markup in user text so SQL cannot ping a channel or forge a link', () => {
    const text = allText(
      buildSlackMessage(
        sampleNotification(
          {},
          { statements: [{ sql: "SELECT '<!channel> <http://evil|click>' & 1", via: 'simple' }] },
        ),
      ),
    );
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<http://evil');
    expect(text).toContain('&lt;!channel&gt; &lt;http://evil|click&gt;');
  });

  it('truncates long SQL with a marker and keeps every section within Slack limits', () => {
    const sql = `SELECT ${'x, '.repeat(5000)}1`;
    const message = buildSlackMessage(
      sampleNotification({}, { statements: [{ sql, via: 'simple', params: ['&'.repeat(5000)] }] }),
    );
    const text = allText(message);
    expect(text).toContain(
      `Truncated: the first ${SLACK_SQL_LIMIT.toLocaleString('en-US')} of 15,008 characters shown.`,
    );
    for (const block of message.blocks) {
      if (block.type !== 'section') continue;
      expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(3000);
      for (const f of block.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(2000);
    }
  });

  it('shows at most five statements and says how many more', () => {
    const statements = Array.from({ length: 7 }, (_, i) => ({ sql: `DELETE FROM t${i}`, via: 'simple' }));
    const message = buildSlackMessage(sampleNotification({}, { statements }));
    const text = allText(message);
    expect(message.text).toMatch(/^7 held statements awaiting 2 approvals/);
    expect(text).toContain('DELETE FROM t4');
    expect(text).not.toContain('DELETE FROM t5');
    expect(text).toContain('and 2 more statements');
  });

  it('a decided request shows its outcome and decisions, and no approve/deny commands', () => {
    const decidedAt = Date.UTC(2025, 0, 2, 10, 5);
    const message = buildSlackMessage(
      sampleNotification(
        { event: 'approval.decided' },
        {
          status: 'denied',
          decidedAt,
          outcome: 'wrong customer',
          blastRadius: null,
          decisions: [
            { reviewer: 'alice', verdict: 'approve', reason: 'looks fine', at: decidedAt - 60_000 },
            { reviewer: 'bob', verdict: 'deny', reason: 'wrong customer', at: decidedAt },
          ],
        },
      ),
    );
    const text = allText(message);
    expect(message.text).toMatch(/^Held statement denied: apr_/);
    expect(text).toContain('_wrong customer_');
    expect(text).toContain('• *alice* approved: looks fine\\n• *bob* denied: wrong customer');
    expect(text).toContain('ended <!date^1735812300^');
    expect(text).not.toContain('Blast radius');
    expect(text).not.toContain('airlock approvals approve');
    expect(text).toContain('Open the request in the Airlock API');
  });

  it('titles every final status', () => {
    const titles = (['approved', 'expired', 'withdrawn', 'abandoned'] as const).map(
      (status) =>
        buildSlackMessage(
          sampleNotification({ event: 'approval.decided' }, { status, decidedAt: Date.now() }),
        ).text,
    );
    expect(titles.map((t) => t.split(':')[0])).toEqual([
      'Held statement approved',
      'Held statement expired',
      'Held statement withdrawn by the agent',
      'Held statement abandoned',
    ]);
  });

  it('without an API URL and a run id, it says so rather than linking nowhere', () => {
    const notification = sampleNotification({}, { runId: null, approversRequired: 1 });
    const text = allText(buildSlackMessage({ ...notification, links: { ...notification.links, api: null } }));
    expect(text).toContain('awaiting 1 approval:');
    expect(text).toContain('*Run*\\n_none_');
    expect(text).not.toContain('Open the request');
  });
});
