/**
 * The `clients[]` rule that applies to a client: the first whose client_id matches and whose
 * audience, when it names one, is among the token's (or request's) audiences. First match wins,
 * for every per-client setting alike.
 */
import type { ClientRuleConfig, Config } from '../../config/schema.js';

export function clientRuleFor(
  config: Config,
  clientId: string | undefined,
  audiences: readonly string[],
): ClientRuleConfig | undefined {
  if (clientId === undefined) return undefined;
  return config.clients.find(
    (rule) =>
      rule.client_id === clientId &&
      (rule.audience === undefined || audiences.includes(rule.audience)),
  );
}
