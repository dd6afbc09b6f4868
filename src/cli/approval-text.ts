/** How `airlock approvals list|show` print requests for people: a table of the queue, the detail of one. */
import type { ApprovalView } from '../approvals/approval-view.js';
import { terminalSafe } from '../audit/audit-event-line.js';
import { formatTextTable, truncateText } from './text-table.js';

/** Longest SQL shown in a table cell; `show` prints the whole statement. */
const SQL_CELL_LENGTH = 60;

/** One row per request: id, status, age, subject, role and the first line of its SQL. */
export function formatApprovalTable(views: readonly ApprovalView[], now: number): string {
  const header = ['ID', 'STATUS', 'AGE', 'SUBJECT', 'ROLE', 'SQL'];
  // The agent wrote the SQL: nothing in it may move the cursor or reorder the reviewer's terminal.
  const rows = views.map((view) =>
    [
      view.id,
      view.status,
      formatDuration(now - Date.parse(view.createdAt)),
      truncateText(view.subject, 32),
      view.role,
      truncateText(firstLine(view.sql), SQL_CELL_LENGTH),
    ].map(terminalSafe),
  );
  return formatTextTable([header, ...rows]);
}

/**
 * Everything a reviewer needs to decide one request, the whole SQL and its bound values included.
 * Control and format characters (escape sequences, bidi overrides) print as '?', so what the agent
 * wrote cannot disguise itself on the reviewer's terminal; `--json` has the exact text.
 */
export function formatApprovalDetail(view: ApprovalView, now: number): string {
  const created = Date.parse(view.createdAt);
  const expires = Date.parse(view.expiresAt);
  const lines = [
    `${view.id}  ${view.status} (${view.approvals} of ${view.approversRequired} approvals)`,
    `  subject:  ${view.subject}`,
    `  reason:   ${view.reason}`,
    ...(view.runId === null ? [] : [`  run id:   ${view.runId}`]),
    `  role:     ${view.role} on ${view.upstream} (session ${view.sessionId})`,
    `  rule:     ${view.rule}: ${view.why}`,
    `  scope:    ${view.scope === 'run' ? 'this statement for the rest of the CI run' : 'this statement only'}`,
    ...(view.blastRadius === null
      ? []
      : [`  rows:     about ${view.blastRadius.estimatedRows} (planner estimate; nothing was run)`]),
    `  created:  ${view.createdAt} (${formatDuration(now - created)} ago)`,
    view.status === 'pending'
      ? `  expires:  ${view.expiresAt} (in ${formatDuration(expires - now)})`
      : `  decided:  ${view.decidedAt ?? 'never'}${view.outcome === null ? '' : ` (${view.outcome})`}`,
  ];
  if (view.decisions.length > 0) {
    lines.push('  decisions:');
    for (const decision of view.decisions) {
      const reason = decision.reason === '' ? '' : `: ${decision.reason}`;
      lines.push(`    ${decision.at}  ${decision.reviewer} ${PAST_TENSE[decision.verdict]}${reason}`);
    }
  }
  view.statements.forEach((statement, index) => {
    lines.push('', `statement ${index + 1} of ${view.statements.length} (${statement.via}):`);
    lines.push(...statement.sql.split(/\r?\n/).map((line) => `  ${line}`));
    if (statement.params.length > 0) {
      lines.push(`  params: ${statement.params.map((value) => JSON.stringify(value)).join(', ')}`);
    }
  });
  return lines.map(printableLine).join('\n');
}

/** A duration for people: 45s, 12m, 3h, 2d (never negative). */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

const PAST_TENSE = { approve: 'approved', deny: 'denied' } as const;

/** One line as typed, spacing kept (it may matter inside a literal), with tabs as spaces and invisible characters as '?'. */
function printableLine(line: string): string {
  return line.replaceAll('\t', '    ').replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '?');
}

function firstLine(text: string): string {
  const lines = text.trim().split(/\r?\n/);
  const first = lines[0] ?? '';
  return lines.length > 1 ? `${first} …` : first;
}
