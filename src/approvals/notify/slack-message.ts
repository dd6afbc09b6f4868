/**
 * An approval notification as a Slack incoming-webhook message: statement, who, why, blast radius
 * and where to act. Slack is a third party, so SQL, bound values and free-text reasons are scrubbed
 * of everything content detection recognises (emails, cards, phones …) before they leave.
 */
import { scrubText } from '../../masking/mask-text.js';
import { SENSITIVE_CLASSES, type SensitiveClass } from '../../masking/sensitive-class.js';
import {
  type ApprovalNotification,
  type ApprovalRequest,
  type ApprovalStatus,
  approvalCount,
  type HeldStatement,
} from '../approval-types.js';
import { codeBlock, escapeMrkdwn, inlineCode, mrkdwnWithin, slackDate } from './slack-mrkdwn.js';

/** A Block Kit mrkdwn text object. */
export interface SlackText {
  readonly type: 'mrkdwn';
  readonly text: string;
}

/** The Block Kit blocks the message uses. */
export type SlackBlock =
  | { readonly type: 'section'; readonly text?: SlackText; readonly fields?: readonly SlackText[] }
  | { readonly type: 'context'; readonly elements: readonly SlackText[] };

/** The body posted to a Slack incoming webhook; `text` is what push notifications show. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

/** Characters of one statement's SQL a Slack message shows; the API and the JSON webhook have all of it. */
export const SLACK_SQL_LIMIT = 2500;

// Slack refuses a section text over 3000 characters and a field over 2000.
const PARAMS_LIMIT = 2500;
const PARAM_VALUE_LIMIT = 200;
const FIELD_LIMIT = 1000;
const REASON_LIMIT = 500;
const STATEMENTS_SHOWN = 5;
const DECISIONS_SHOWN = 10;
// Scrub a little more than is shown, so an item that straddles the cut is still recognised whole.
const SCRUB_MARGIN = 1000;
const ALL_CLASSES: ReadonlySet<SensitiveClass> = new Set(SENSITIVE_CLASSES);

const EMOJI: Readonly<Record<ApprovalStatus, string>> = {
  pending: ':hourglass_flowing_sand:',
  approved: ':white_check_mark:',
  denied: ':no_entry:',
  expired: ':alarm_clock:',
  withdrawn: ':leftwards_arrow_with_hook:',
  abandoned: ':warning:',
};

/** The Slack message for `notification`. */
export function buildSlackMessage(notification: ApprovalNotification): SlackMessage {
  const { request } = notification;
  const heading = headline(request);
  const blocks: SlackBlock[] = [
    section(
      `${EMOJI[request.status]} *${heading}*  ${inlineCode(request.id)}` +
        (request.outcome === null ? '' : `\n_${mrkdwnWithin(scrub(request.outcome), REASON_LIMIT)}_`),
    ),
    { type: 'section', fields: summaryFields(request) },
    ...statementBlocks(request.statements),
  ];
  if (request.blastRadius !== null) {
    const rows = request.blastRadius.estimatedRows.toLocaleString('en-US');
    blocks.push(section(`*Blast radius:* ~${rows} rows (planner estimate)`));
  }
  if (request.decisions.length > 0) blocks.push(section(decisionsText(request)));
  blocks.push({ type: 'context', elements: [mrkdwn(timesText(request))] });
  const act = actionsText(notification);
  if (act !== '') blocks.push(section(act));
  return {
    text: escapeMrkdwn(`${heading}: ${request.id} (role ${request.role}, requested by ${request.subject})`),
    blocks,
  };
}

function headline(request: ApprovalRequest): string {
  const count = request.statements.length;
  const held = count === 1 ? 'Held statement' : `${count} held statements`;
  switch (request.status) {
    case 'pending': {
      const approvals = approvalCount(request);
      const missing = Math.max(1, request.approversRequired - approvals);
      return `${held} awaiting ${missing} approval${missing === 1 ? '' : 's'}`;
    }
    case 'approved':
      return `${held} approved`;
    case 'denied':
      return `${held} denied`;
    case 'expired':
      return `${held} expired: nobody decided in time`;
    case 'withdrawn':
      return `${held} withdrawn by the agent`;
    case 'abandoned':
      return `${held} abandoned: the session ended`;
  }
}

function summaryFields(request: ApprovalRequest): SlackText[] {
  const approvals = approvalCount(request);
  const scope = request.scope === 'run' ? 'this statement for the rest of the CI run' : 'this statement only';
  return [
    field('Role', `${inlineCode(request.role)} on ${inlineCode(request.upstream)}`),
    field('Requested by', mrkdwnWithin(request.subject, FIELD_LIMIT)),
    field('Why', mrkdwnWithin(scrub(request.reason), FIELD_LIMIT)),
    field('Run', request.runId === null ? '_none_' : inlineCode(request.runId)),
    field('Rule', `${inlineCode(request.rule)}: ${mrkdwnWithin(request.why, FIELD_LIMIT)}`),
    field('Approvals', `${approvals} of ${request.approversRequired} (${scope})`),
  ];
}

function statementBlocks(statements: readonly HeldStatement[]): SlackBlock[] {
  const blocks: SlackBlock[] = [];
  const shown = statements.slice(0, STATEMENTS_SHOWN);
  shown.forEach((statement, index) => {
    const label = statements.length === 1 ? 'Statement' : `Statement ${index + 1} of ${statements.length}`;
    // Scrubbed before the cut, over a window past it, so no item is shown half-recognised.
    const window = SLACK_SQL_LIMIT + SCRUB_MARGIN;
    const sql = scrub(statement.sql.slice(0, window));
    const cutFrom = statement.sql.length > window ? statement.sql.length : undefined;
    const text = `*${label}* (via ${escapeMrkdwn(statement.via)})\n${codeBlock(sql, SLACK_SQL_LIMIT, cutFrom)}`;
    blocks.push(section(text));
    if (statement.params !== undefined && statement.params.length > 0) {
      blocks.push(section(`*Bound parameters*\n${codeBlock(paramsText(statement.params), PARAMS_LIMIT)}`));
    }
  });
  if (statements.length > shown.length) {
    const more = statements.length - shown.length;
    blocks.push({
      type: 'context',
      elements: [mrkdwn(`… and ${more} more statement${more === 1 ? '' : 's'}: see the API.`)],
    });
  }
  return blocks;
}

function paramsText(params: readonly (string | null)[]): string {
  return params
    .map((value, index) => {
      if (value === null) return `$${index + 1} = NULL`;
      const scrubbed = scrub(value.slice(0, PARAM_VALUE_LIMIT + SCRUB_MARGIN));
      const shown =
        scrubbed.length > PARAM_VALUE_LIMIT ? `${scrubbed.slice(0, PARAM_VALUE_LIMIT)}…` : scrubbed;
      return `$${index + 1} = '${shown.replace(/'/g, "''")}'`;
    })
    .join('\n');
}

function decisionsText(request: ApprovalRequest): string {
  const lines = request.decisions.slice(0, DECISIONS_SHOWN).map((decision) => {
    const verdict = decision.verdict === 'approve' ? 'approved' : 'denied';
    const reason = decision.reason === '' ? '' : `: ${mrkdwnWithin(scrub(decision.reason), REASON_LIMIT)}`;
    return `• *${mrkdwnWithin(decision.reviewer, 100)}* ${verdict}${reason}`;
  });
  return `*Decisions*\n${lines.join('\n')}`;
}

function timesText(request: ApprovalRequest): string {
  const requested = `Requested ${slackDate(request.createdAt)}`;
  if (request.status === 'pending') return `${requested} · expires ${slackDate(request.expiresAt)}`;
  return `${requested} · ended ${slackDate(request.decidedAt ?? request.expiresAt)}`;
}

function actionsText(notification: ApprovalNotification): string {
  const { links, request } = notification;
  const lines: string[] = [];
  // A final request can no longer be approved or denied: only the link to its record is useful.
  if (request.status === 'pending') {
    lines.push(`*Approve:* ${inlineCode(links.approveCommand)}`, `*Deny:* ${inlineCode(links.denyCommand)}`);
  }
  if (links.api !== null) {
    // `|` ends a Slack link's URL part; it is not valid unencoded in a URL anyway.
    lines.push(`<${escapeMrkdwn(links.api.replace(/\|/g, '%7C'))}|Open the request in the Airlock API>`);
  }
  return lines.join('\n');
}

/** Everything content detection recognises, redacted: the only text of the request that is free-form. */
function scrub(text: string): string {
  return scrubText(text, ALL_CLASSES, 'redact', undefined);
}

function mrkdwn(text: string): SlackText {
  return { type: 'mrkdwn', text };
}

function section(text: string): SlackBlock {
  return { type: 'section', text: mrkdwn(text) };
}

function field(label: string, value: string): SlackText {
  return mrkdwn(`*${label}*\n${value}`);
}
