/**
 * Which security profile holds a client: the top-level `profile` holds every client, a
 * `clients[].profile` one client (set only on rules without an audience: the profile is the
 * client's, whatever the token's audience).
 */
import type { ClientRuleConfig, Config } from '../../config/schema.js';
import type { SecurityProfile } from '../rules/security-profile.js';

/** Each client's first rule without an audience, built once per configuration. */
const heldByRule = new WeakMap<readonly ClientRuleConfig[], Map<string, ClientRuleConfig>>();

function profileRules(clients: readonly ClientRuleConfig[]): Map<string, ClientRuleConfig> {
  let index = heldByRule.get(clients);
  if (index === undefined) {
    index = new Map();
    for (const rule of clients) {
      // First match wins, as for every per-client setting: the client's first rule for any audience.
      if (rule.audience === undefined && !index.has(rule.client_id))
        index.set(rule.client_id, rule);
    }
    heldByRule.set(clients, index);
  }
  return index;
}

/** The profile that holds `clientId`, or undefined. */
export function profileOf(
  config: Config,
  clientId: string | undefined,
): SecurityProfile | undefined {
  if (config.profile !== undefined) return config.profile;
  if (clientId === undefined) return undefined;
  return profileRules(config.clients).get(clientId)?.profile;
}

/** Whether any client can be held to a profile under this configuration. */
export function anyProfile(config: Config): boolean {
  return config.profile !== undefined || config.clients.some((rule) => rule.profile !== undefined);
}

/** The redirect URIs registered for `clientId` (undefined: none registered with scopegate). */
export function registeredRedirectUris(
  config: Config,
  clientId: string,
): readonly string[] | undefined {
  return profileRules(config.clients).get(clientId)?.redirect_uris;
}
