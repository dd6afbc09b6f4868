// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} text is what the config file holds.
/** `airlock approvals …`: the command logic on an in-memory desk, and the exit codes through the real CLI. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeApprovalDesk } from '../../test/approvals/fake-approval-desk.js';
import { sampleRequest } from '../../test/approvals/sample-notification.js';
import { type CliResult, runAirlockCli } from '../../test/helpers/run-cli.js';
import type { ApprovalView } from '../approvals/approval-view.js';
import { hashAuditorKey } from '../config/auditor-keys.js';
import type { ReviewerConfig } from '../config/config-types.js';
import {
  ApprovalRefusedError,
  ApprovalUsageError,
  checkApprovalId,
  checkDecisionReason,
  checkReviewerKey,
  decideApproval,
  listApprovals,
  readListOptions,
  showApproval,
} from './approval-commands.js';

const ALICE_KEY = 'a1'.repeat(20);
const BOB_KEY = 'b2'.repeat(20);
const reviewers: Record<string, ReviewerConfig> = {
  alice: { name: 'alice', keySha256: hashAuditorKey(ALICE_KEY), subjects: ['alice@example.com'] },
  bob: { name: 'bob', keySha256: hashAuditorKey(BOB_KEY), subjects: [] },
};

const HELD = 'apr_held00000000000001';
const MINE = 'apr_alice000000000001';
const DONE = 'apr_done00000000000001';
const start = Date.UTC(2025, 0, 2, 10, 0, 0);

let desk: FakeApprovalDesk;
let printed: string[];
const output = { print: (text: string) => printed.push(text) };

beforeEach(() => {
  printed = [];
  desk = new FakeApprovalDesk(
    [
      sampleRequest({
        id: HELD,
        statements: [{ sql: 'DELETE FROM orders WHERE id = $1', via: 'execute', params: ['42'] }],
      }),
      sampleRequest({
        id: MINE,
        subject: 'alice@example.com',
        createdAt: start + 60_000,
        approversRequired: 1,
      }),
      sampleRequest({ id: DONE, status: 'denied', createdAt: start + 120_000, decidedAt: start + 180_000 }),
    ],
    { alice: ['alice@example.com'] },
  );
});

describe('approvals list', () => {
  it('asks for pending requests unless --status or --all says otherwise', () => {
    expect(readListOptions({})).toEqual({ status: 'pending' });
    expect(readListOptions({ all: true, limit: '5' })).toEqual({ limit: 5 });
    expect(readListOptions({ status: 'expired' })).toEqual({ status: 'expired' });
  });

  it('refuses --status with --all, and a bad status or limit, naming the option (exit 2)', () => {
    expect(() => readListOptions({ all: true, status: 'denied' })).toThrow(
      new ApprovalUsageError('give --status or --all, not both'),
    );
    expect(() => readListOptions({ status: 'open' })).toThrow(/^--status "open" is not a status/);
    expect(() => readListOptions({ limit: '5000' })).toThrow(ApprovalUsageError);
  });

  it('prints a JSON array of views with --json', async () => {
    await listApprovals(desk, { status: 'pending' }, { json: true, now: start }, output);
    const views = JSON.parse(printed.join('\n')) as ApprovalView[];
    expect(views.map((view) => view.id)).toEqual([MINE, HELD]);
    expect(views[1]).toMatchObject({
      id: HELD,
      status: 'pending',
      sql: 'DELETE FROM orders WHERE id = $1',
      params: ['42'],
      subject: 'ci:acme/shop',
      reason: 'clean up test orders',
      createdAt: '2025-01-02T10:00:00.000Z',
    });
  });

  it('prints a table, or says that nothing matched', async () => {
    await listApprovals(desk, { status: 'pending' }, { now: start + 10 * 60_000 }, output);
    expect(printed[0]?.split('\n')).toEqual([
      expect.stringMatching(/^ID +STATUS +AGE +SUBJECT +ROLE +SQL$/),
      expect.stringMatching(
        new RegExp(`^${MINE} +pending +9m +alice@example.com +operator +DELETE FROM orders`),
      ),
      expect.stringMatching(
        new RegExp(`^${HELD} +pending +10m +ci:acme/shop +operator +DELETE FROM orders WHERE id = \\$1$`),
      ),
    ]);
    printed = [];
    await listApprovals(desk, { status: 'expired' }, { now: start }, output);
    await listApprovals(new FakeApprovalDesk([]), { status: 'pending' }, { now: start }, output);
    await listApprovals(new FakeApprovalDesk([]), {}, { now: start }, output);
    expect(printed).toEqual([
      'no expired approval requests',
      'no pending approval requests (--all shows decided ones)',
      'no approval requests',
    ]);
  });
});

describe('approvals show', () => {
  it('prints one request in full, or as JSON', async () => {
    await showApproval(desk, HELD, { now: start }, output);
    expect(printed[0]).toContain(`${HELD}  pending (0 of 2 approvals)`);
    expect(printed[0]).toContain('  DELETE FROM orders WHERE id = $1\n  params: "42"');
    printed = [];
    await showApproval(desk, DONE, { json: true, now: start }, output);
    expect(JSON.parse(printed[0] ?? '')).toMatchObject({ id: DONE, status: 'denied' });
  });

  it('refuses an id of the wrong shape (exit 2) and reports an unknown one (exit 1)', async () => {
    expect(() => checkApprovalId('apr_HELD')).toThrow(
      new ApprovalUsageError('"apr_HELD" is not an approval request id; ids look like apr_7k2m9q4x8c3v5b6n'),
    );
    expect(() => checkApprovalId(HELD)).not.toThrow();
    const unknown = showApproval(desk, 'apr_0000000000000000', { now: start }, output);
    await expect(unknown).rejects.toThrow('no approval request apr_0000000000000000');
    await expect(unknown).rejects.not.toBeInstanceOf(ApprovalUsageError);
  });
});

describe('reviewer key', () => {
  it('accepts the named reviewer’s own key', () => {
    expect(() => checkReviewerKey(reviewers, 'bob', BOB_KEY)).not.toThrow();
  });

  it('asks for AIRLOCK_REVIEWER_KEY when it is not set, and says why not on the command line', () => {
    for (const key of [undefined, '']) {
      expect(() => checkReviewerKey(reviewers, 'bob', key)).toThrow(ApprovalUsageError);
      expect(() => checkReviewerKey(reviewers, 'bob', key)).toThrow(
        /^set AIRLOCK_REVIEWER_KEY to your reviewer key first.*shell history and ps/,
      );
    }
  });

  it("refuses another reviewer's key, a wrong key and an unknown name, never quoting the key", () => {
    const cases: [string, string, RegExp][] = [
      ['bob', ALICE_KEY, /^AIRLOCK_REVIEWER_KEY is not the key of reviewer bob$/],
      ['bob', `${BOB_KEY}x`, /^AIRLOCK_REVIEWER_KEY is not the key of reviewer bob$/],
      [
        'bobby',
        BOB_KEY,
        /^AIRLOCK_REVIEWER_KEY is not the key of reviewer bobby: no reviewer .* alice, bob\)$/,
      ],
      ['toString', BOB_KEY, /is not the key of reviewer toString: no reviewer/],
    ];
    for (const [name, key, message] of cases) {
      let error: unknown;
      try {
        checkReviewerKey(reviewers, name, key);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ApprovalUsageError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(key.slice(0, 12));
    }
    expect(() => checkReviewerKey({}, 'bob', BOB_KEY)).toThrow(/the config has no reviewers section/);
  });
});

describe('approvals approve|deny', () => {
  it('records the decision under --reviewer and says where the request stands', async () => {
    await decideApproval(desk, { id: HELD, reviewer: 'bob', verdict: 'approve', reason: '' }, output);
    await decideApproval(desk, { id: MINE, reviewer: 'bob', verdict: 'approve', reason: 'fine' }, output);
    await decideApproval(desk, { id: HELD, reviewer: 'alice', verdict: 'deny', reason: 'wrong id' }, output);
    expect(printed).toEqual([
      `approved ${HELD} as bob (1 of 2 approvals); it waits for 1 more reviewer`,
      `approved ${MINE} as bob (1 of 1 approvals); the held statement may run now`,
      `denied ${HELD} as alice; the statement does not run and the agent is told why`,
    ]);
    expect(desk.decisions).toEqual([
      { id: HELD, reviewer: 'bob', verdict: 'approve', reason: '' },
      { id: MINE, reviewer: 'bob', verdict: 'approve', reason: 'fine' },
      { id: HELD, reviewer: 'alice', verdict: 'deny', reason: 'wrong id' },
    ]);
  });

  it("turns the desk's refusal into an error carrying its message (exit 1, not a usage error)", async () => {
    await decideApproval(desk, { id: HELD, reviewer: 'bob', verdict: 'approve', reason: '' }, output);
    const cases = [
      ['apr_0000000000000000', 'bob', 'not-found'],
      [DONE, 'bob', 'not-pending'],
      [MINE, 'alice', 'self-approval'],
      [HELD, 'bob', 'already-approved-by-reviewer'],
    ] as const;
    for (const [id, reviewer, problem] of cases) {
      const decided = decideApproval(desk, { id, reviewer, verdict: 'approve', reason: '' }, output);
      await expect(decided).rejects.toBeInstanceOf(ApprovalRefusedError);
      await expect(decided).rejects.not.toBeInstanceOf(ApprovalUsageError);
      await expect(decided).rejects.toMatchObject({ problem });
    }
    await expect(
      decideApproval(desk, { id: DONE, reviewer: 'bob', verdict: 'deny', reason: 'no' }, output),
    ).rejects.toThrow(`${DONE} is already denied`);
  });

  it('refuses a denial without a reason before the desk is asked (exit 2)', () => {
    expect(() => checkDecisionReason('deny', ' ')).toThrow(ApprovalUsageError);
    expect(() => checkDecisionReason('deny', ' ')).toThrow(/^--reason: a denial needs a reason/);
    expect(() => checkDecisionReason('approve', '')).not.toThrow();
    expect(() => checkDecisionReason('approve', 'x'.repeat(1001))).toThrow(/at most 1000/);
  });
});

describe('airlock approvals (real CLI): usage errors exit 2 before the store is opened', () => {
  let dir: string;
  let configPath: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-approvals-cli-'));
    configPath = join(dir, 'airlock.yaml');
    writeFileSync(
      configPath,
      [
        'listen:',
        '  postgres: 127.0.0.1:6432',
        `store: sqlite:${join(dir, 'airlock.db')}`,
        'upstreams:',
        '  shop:',
        '    url: postgres://gw@127.0.0.1:5432/shop',
        '    password: ${AIRLOCK_TEST_UNSET_DB_PASSWORD}',
        'roles:',
        '  operator:',
        '    upstream: shop',
        'reviewers:',
        `  alice: { key: "${ALICE_KEY}", subjects: [alice@example.com] }`,
        '',
      ].join('\n'),
    );
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function airlock(reviewerKey: string | undefined, ...args: string[]): CliResult {
    const saved = process.env.AIRLOCK_REVIEWER_KEY;
    if (reviewerKey === undefined) delete process.env.AIRLOCK_REVIEWER_KEY;
    else process.env.AIRLOCK_REVIEWER_KEY = reviewerKey;
    try {
      return runAirlockCli(['approvals', ...args, '--config', configPath]);
    } finally {
      if (saved === undefined) delete process.env.AIRLOCK_REVIEWER_KEY;
      else process.env.AIRLOCK_REVIEWER_KEY = saved;
    }
  }

  it('asks for AIRLOCK_REVIEWER_KEY when it is missing', () => {
    const result = airlock(undefined, 'approve', HELD, '--reviewer', 'alice');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('airlock: set AIRLOCK_REVIEWER_KEY to your reviewer key first');
  });

  it('refuses a key that is not the reviewer’s, without printing it', () => {
    const wrong = 'f'.repeat(40);
    const result = airlock(wrong, 'deny', HELD, '--reviewer', 'alice', '--reason', 'no');
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('airlock: AIRLOCK_REVIEWER_KEY is not the key of reviewer alice\n');
    expect(result.stdout).toBe('');
  });

  it('needs --reviewer, and --reason to deny', () => {
    expect(airlock(ALICE_KEY, 'approve', HELD).status).toBe(2);
    const noReason = airlock(ALICE_KEY, 'deny', HELD, '--reviewer', 'alice');
    expect(noReason.status).toBe(2);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
  });

  it('refuses a malformed id and a bad listing option', () => {
    const show = airlock(undefined, 'show', 'apr_../../x');
    expect(show.status).toBe(2);
    expect(show.stderr).toContain('is not an approval request id');
    const list = airlock(undefined, 'list', '--status', 'open');
    expect(list.status).toBe(2);
    expect(list.stderr).toContain('--status "open" is not a status');
  });
});
