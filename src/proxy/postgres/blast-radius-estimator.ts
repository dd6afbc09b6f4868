/** The approval guard's blast-radius estimate over each upstream's PlanEstimator (one side connection per upstream). */
import type { BlastRadiusEstimate } from '../../approvals/approval-guard.js';
import { estimatedRowsFromPlan, isEstimable } from '../../approvals/blast-radius.js';
import type { AirlockConfig } from '../../config/config-types.js';
import { pinnedUpstreamParameters } from '../../policy/policy-guard.js';
import { PlanEstimator } from './plan-estimator.js';

/** Longest an estimate may delay the approval request (and the agent's notice). */
const ESTIMATE_TIMEOUT_MS = 2000;

export function createBlastRadiusEstimator(config: AirlockConfig): {
  readonly estimate: BlastRadiusEstimate;
  close(): void;
} {
  const estimators = new Map<string, PlanEstimator>();
  const estimatorOf = (upstreamName: string): PlanEstimator | undefined => {
    const upstream = config.upstreams[upstreamName];
    if (upstream === undefined) return undefined;
    let estimator = estimators.get(upstreamName);
    if (estimator === undefined) {
      estimator = new PlanEstimator(upstream, Math.min(ESTIMATE_TIMEOUT_MS, upstream.connectTimeoutMs));
      estimators.set(upstreamName, estimator);
    }
    return estimator;
  };
  return {
    async estimate(identity, statements) {
      const role = config.roles[identity.role];
      const estimable = statements.filter((s) => isEstimable(s.sql));
      const estimator = estimatorOf(identity.upstream);
      if (role === undefined || estimable.length === 0 || estimator === undefined) return null;
      const searchPath = pinnedUpstreamParameters(role.policy).search_path ?? 'public';
      let total = 0;
      for (const statement of estimable) {
        const rows = estimatedRowsFromPlan(
          await estimator.explain(statement.sql, statement.params ?? [], searchPath),
        );
        if (rows === null) return null;
        total += rows;
      }
      return { estimatedRows: total, method: 'explain' };
    },
    close() {
      for (const estimator of estimators.values()) estimator.close();
    },
  };
}
