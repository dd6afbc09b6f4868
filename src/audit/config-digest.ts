/** The fingerprint of the effective policy that `config.loaded` records (never any secret). */
import { createHash } from 'node:crypto';
import type { AirlockConfig } from '../config/config-types.js';
import { canonicalJson } from './canonical-json.js';

/**
 * Hex SHA-256 of the canonical JSON of every role's upstream, resolved policy and masking rules, the
 * upstream names and the CI trust entries. Passwords, URLs and TLS material are left out: the digest is recorded in the
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
  // Who may obtain a token of which role is policy too (the JWKS of a jwks_file is key material, not policy).
  const trust = config.trust.map((entry) => ({
    issuer: entry.issuer,
    audience: entry.audience,
    keys: entry.keys.kind === 'jwks-file' ? { kind: 'jwks-file', path: entry.keys.path } : entry.keys,
    algorithms: entry.algorithms,
    clockSkewMs: entry.clockSkewMs,
    bindings: entry.bindings,
  }));
  const effective = JSON.parse(
    JSON.stringify({
      roles,
      upstreams: Object.keys(config.upstreams).sort(),
      ...(trust.length > 0 ? { trust } : {}),
    }),
  );
  return createHash('sha256').update(canonicalJson(effective), 'utf8').digest('hex');
}
