/**
 * The `clients[]` rule that applies to a client: the first whose client_id matches and whose
 * audience, when it names one, is among the token's (or request's) audiences. First match wins,
 * for every per-client setting alike.
 */
import type { ClientRuleConfig, Config } from '../../config/schema.js';

/**
 * Rules by client id, in configuration order, built once per configuration (the `clients` array
 * of a loaded config never changes): a lookup costs the same with ten rules or ten thousand.
 */
const rulesByClient = new WeakMap<readonly ClientRuleConfig[], Map<string, ClientRuleConfig[]>>();

function rulesOf(clients: readonly ClientRuleConfig[]): Map<string, ClientRuleConfig[]> {
  let index = rulesByClient.get(clients);
  if (index === undefined) {
    index = new Map();
    for (const rule of clients) {
      const list = index.get(rule.client_id);
      if (list === undefined) index.set(rule.client_id, [rule]);
      else list.push(rule);
    }
    rulesByClient.set(clients, index);
  }
  return index;
}

export function clientRuleFor(
  config: Config,
  clientId: string | undefined,
  audiences: readonly string[],
): ClientRuleConfig | undefined {
  if (clientId === undefined) return undefined;
  return rulesOf(config.clients)
    .get(clientId)
    ?.find((rule) => rule.audience === undefined || audiences.includes(rule.audience));
}
