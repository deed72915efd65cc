/**
 * Which audience an exchanged token is for. By default the subject's own audience, or the part
 * of it the client asks for. Any other audience is a retarget: allowed only to an authenticated
 * client, by a `token_exchange.retarget` rule from one of the subject's audiences.
 */
import type { TokenExchangeConfig } from '../../../../config/schema.js';
import { targetRefused } from '../../../http/oauth-error.js';
import type { ExchangeClient } from './client-auth.js';

export interface TargetAudience {
  audiences: string[];
  retargeted: boolean;
}

function retargetAllowed(
  audience: string,
  subjectAudiences: readonly string[],
  client: string,
  rules: TokenExchangeConfig['retarget'],
): boolean {
  return rules.some(
    (rule) =>
      subjectAudiences.includes(rule.from) &&
      rule.to.includes(audience) &&
      (rule.clients === undefined || rule.clients.includes(client)),
  );
}

export function targetAudience(
  subjectAudiences: readonly string[],
  requested: readonly string[],
  client: ExchangeClient,
  rules: TokenExchangeConfig['retarget'],
): TargetAudience {
  if (requested.length === 0) return { audiences: [...subjectAudiences], retargeted: false };
  const wanted = [...new Set(requested)];
  const foreign = wanted.filter((audience) => !subjectAudiences.includes(audience));
  if (foreign.length === 0) return { audiences: wanted, retargeted: false };
  if (client === undefined) {
    throw targetRefused('changing the audience requires an authenticated client');
  }
  if (foreign.some((audience) => !retargetAllowed(audience, subjectAudiences, client, rules))) {
    // The requested target is the client's own input: not echoed back.
    throw targetRefused('the subject token cannot be exchanged for the requested audience');
  }
  return { audiences: wanted, retargeted: true };
}
