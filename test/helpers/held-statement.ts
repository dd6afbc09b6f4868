/** Small tools for e2e suites of held statements: the request id a notice names, early-caught failures, bounded waits. */

/** The approval request id (`apr_…`) the gateway's notice names in `text`, if any. */
export function approvalIdIn(text: string | undefined): string | undefined {
  return /request (apr_[a-z2-7]+)/.exec(text ?? '')?.[1];
}

/**
 * The error `promise` fails with (undefined if it succeeds), caught from the start: a held statement
 * may be refused while the test is busy elsewhere, and that must not count as an unhandled rejection.
 */
export function failure<E = Error>(promise: PromiseLike<unknown>): Promise<E | undefined> {
  return Promise.resolve(promise).then(
    () => undefined,
    (error: E) => error,
  );
}

/**
 * `promise`, with a no-op rejection handler attached now, so that it may fail before the test awaits
 * it (awaiting it still throws). Also starts lazy queries (postgres.js runs a query once it is observed).
 */
export function started<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** `promise`, or a rejection naming `what` after `ms`: no wait in these suites is unbounded. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A role, as YAML lines to put under `roles:`, that may run `allowed` operations on public.orders and
 * must have its deletes from it approved; `approval` is the role's approval settings in flow style
 * (e.g. `{ timeout: 1m }`).
 */
export function ordersApprovalRole(name: string, allowed: readonly string[], approval: string): string[] {
  return [
    `  ${name}:`,
    '    upstream: shop',
    '    allow:',
    '      - tables: [public.orders]',
    `        operations: [${allowed.join(', ')}]`,
    '    approve:',
    '      - tables: [public.orders]',
    '        operations: [delete]',
    `    approval: ${approval}`,
  ];
}
