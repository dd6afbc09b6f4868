/** The fingerprint of the effective policy that `config.loaded` records (never any secret). */
import { createHash } from 'node:crypto';
import type { AirlockConfig } from '../config/config-types.js';
import { canonicalJson } from './canonical-json.js';

/**
 * Hex SHA-256 of the canonical JSON of every role's upstream, resolved policy and masking rules plus the
 * upstream names. Passwords, URLs and TLS material are left out: the digest is recorded in the
 * audit trail, and two gateways with the same policy give the same digest.
 */
export function effectivePolicyDigest(config: AirlockConfig): string {
  const roles: Record<string, unknown> = {};
  for (const [name, role] of Object.entries(config.roles)) {
    const masking = role.masking;
    roles[name] = {
      upstream: role.upstream,
      policy: role.policy,
      // The hash key is a secret: only the rules are fingerprinted.
      ...(masking === null
        ? {}
        : {
            masking: {
              rules: masking.rules,
              classify: Object.fromEntries(masking.classify),
              predicates: masking.predicates,
              unknownLineage: masking.unknownLineage,
            },
          }),
    };
  }
  // The JSON round trip drops undefined members and turns the null-prototype maps into plain objects.
  const effective = JSON.parse(JSON.stringify({ roles, upstreams: Object.keys(config.upstreams).sort() }));
  return createHash('sha256').update(canonicalJson(effective), 'utf8').digest('hex');
}
