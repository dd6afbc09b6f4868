/** ConfigError: every configuration problem, named by its dotted key and paired with how to fix it. */

/** One problem in the configuration: where (`key`), what is wrong, and what to do about it. */
export interface ConfigIssue {
  /** Dotted path of the offending key, e.g. `upstreams.shop.tls.mode`; '' for the file as a whole. */
  readonly key: string;
  readonly problem: string;
  readonly fix: string;
}

/** Thrown when the configuration cannot be loaded; the message lists every issue, one per line. */
export class ConfigError extends Error {
  /** Dotted key of the first issue ('' when the file as a whole is at fault). */
  readonly key: string;
  /** How to fix the first issue. */
  readonly fix: string;
  /** Every issue found (at least one). */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue | readonly ConfigIssue[]) {
    const list: readonly ConfigIssue[] = Array.isArray(issues) ? issues : [issues as ConfigIssue];
    const first = list[0] ?? { key: '', problem: 'invalid configuration', fix: 'see docs/configuration.md' };
    super(list.length > 0 ? list.map(formatConfigIssue).join('\n') : formatConfigIssue(first));
    this.name = 'ConfigError';
    this.key = first.key;
    this.fix = first.fix;
    this.issues = list.length > 0 ? list : [first];
  }
}

/** Renders one issue as `key: problem; fix`. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const prefix = issue.key === '' ? '' : `${issue.key}: `;
  return `${prefix}${issue.problem}; ${issue.fix}`;
}

/** Joins a parse path into a dotted key: `['roles', 'r', 'allow', 0]` -> `roles.r.allow[0]`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let key = '';
  for (const part of path) {
    if (typeof part === 'number') key += `[${part}]`;
    else key += key === '' ? String(part) : `.${String(part)}`;
  }
  return key;
}
