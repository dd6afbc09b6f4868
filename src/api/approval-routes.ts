/** `/v1/approvals`: configured reviewers (bearer key) list, read, approve and deny held statements. */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApprovalDesk, DecisionProblem } from '../approvals/approval-desk.js';
import { APPROVAL_ID_EXAMPLE, isApprovalId } from '../approvals/approval-id.js';
import { APPROVAL_LIST_FIELDS, parseApprovalListQuery } from '../approvals/approval-list-query.js';
import { describeApproval } from '../approvals/approval-view.js';
import type { ReviewerConfig } from '../config/config-types.js';
import type { Logger } from '../observability/logger.js';
import { requireBearerKey } from './bearer-key-middleware.js';
import { parseDecisionBody } from './decision-body.js';

/** What the approval routes need: the desk and who may use it. */
export interface ApprovalApiDeps {
  readonly desk: ApprovalDesk;
  /** Empty: every approvals route answers 404 (the approvals API is off). */
  readonly reviewers: Readonly<Record<string, ReviewerConfig>>;
  readonly logger?: Logger;
}

type ApprovalEnv = { Variables: { reviewer: string } };

/** A body holds one reason of at most 1000 characters; 16 KiB is room for that in any escaping. */
const MAX_BODY_BYTES = 16 * 1024;

const APPROVALS_API_OFF =
  'the approvals API is off: no reviewers are configured; give each reviewer a key of their own, e.g. ' +
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's ${VAR} syntax, shown to the operator.
  'reviewers: { alice: { key: ${ALICE_REVIEW_KEY}, subjects: [alice@example.com] } } (see docs/approvals.md)';

/** The HTTP status of each refused decision (see DecisionProblem). */
const PROBLEM_STATUS = {
  'not-found': 404,
  'not-pending': 409,
  'already-approved-by-reviewer': 409,
  'self-approval': 403,
  'bad-reason': 400,
} as const satisfies Record<DecisionProblem, number>;

/** The routes under /v1/approvals. */
export function createApprovalRoutes(deps: ApprovalApiDeps) {
  const app = new Hono<ApprovalEnv>();

  // Requests show people, sessions and SQL: no cache on the way may keep a copy of any answer.
  app.use('*', async (c, next) => {
    await next();
    c.res.headers.set('cache-control', 'no-store');
  });

  app.use(
    '*',
    requireBearerKey({
      holders: deps.reviewers,
      realm: 'airlock-approvals',
      holderKind: 'reviewer',
      offError: APPROVALS_API_OFF,
      logLabel: 'approvals api',
      variable: 'reviewer',
      ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    }),
  );

  app.get('/', async (c) => {
    const params = c.req.queries();
    for (const [name, values] of Object.entries(params)) {
      if (!(APPROVAL_LIST_FIELDS as readonly string[]).includes(name)) {
        return badParameter(c, name, `unknown parameter ${JSON.stringify(name)}; known: status, limit`);
      }
      if (values.length > 1) return badParameter(c, name, `${name} is given more than once`);
    }
    const query = parseApprovalListQuery({ status: params.status?.[0], limit: params.limit?.[0] });
    if (!query.ok) return badParameter(c, query.field, query.message);
    const requests = await deps.desk.list({ status: 'pending', ...query.options });
    deps.logger?.debug({ reviewer: c.get('reviewer'), approvals: requests.length }, 'approvals api: list');
    return c.json({ approvals: requests.map(describeApproval) }, 200);
  });

  app.get('/:id', knownIdShape, async (c) => {
    const request = await deps.desk.get(c.req.param('id'));
    if (request === undefined) return noSuchRequest(c);
    return c.json(describeApproval(request), 200);
  });

  for (const verdict of ['approve', 'deny'] as const) {
    app.post(
      `/:id/${verdict}`,
      knownIdShape,
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: (c) => c.json({ error: `the body is larger than ${MAX_BODY_BYTES} bytes` }, 413),
      }),
      async (c) => {
        const id = c.req.param('id');
        const reviewer = c.get('reviewer');
        const body = parseDecisionBody(await c.req.text(), verdict);
        if (!body.ok) return c.json({ error: body.error }, 400);
        const result = await deps.desk.decide(id, reviewer, verdict, body.reason);
        deps.logger?.info(
          { reviewer, approval: id, verdict, refused: result.ok ? null : result.problem },
          'approvals api: decision',
        );
        if (!result.ok) {
          return c.json({ error: result.message, problem: result.problem }, PROBLEM_STATUS[result.problem]);
        }
        return c.json({ approval: describeApproval(result.request) }, 200);
      },
    );
  }

  app.onError((error, c) => {
    deps.logger?.error({ err: String(error), path: c.req.path }, 'approvals api: request failed');
    return c.json({ error: 'the approvals API failed; see the gateway log' }, 500, {
      'cache-control': 'no-store',
    });
  });
  return app;
}

/** A malformed id is answered like an unknown one, without asking the desk. */
const knownIdShape: MiddlewareHandler<ApprovalEnv> = async (c, next) => {
  if (!isApprovalId(c.req.param('id') ?? '')) return noSuchRequest(c);
  await next();
};

function noSuchRequest(c: Context<ApprovalEnv>) {
  return c.json({ error: `no such approval request (ids look like ${APPROVAL_ID_EXAMPLE})` }, 404);
}

function badParameter(c: Context<ApprovalEnv>, parameter: string, error: string) {
  return c.json({ error, parameter }, 400);
}
