/**
 * What `scopegate explain --grant urn:ietf:params:oauth:grant-type:token-exchange` adds: the
 * granted scopes stand for the subject token's, the upstream is not asked, and which audience
 * changes the configuration allows.
 */
import type { Config } from '../../config/schema.js';
import { TOKEN_EXCHANGE_GRANT } from './token-types.js';

export function isExchangeGrant(grant: string | undefined): boolean {
  return grant === TOKEN_EXCHANGE_GRANT;
}

export function exchangeNotes(config: Config): string[] {
  const exchange = config.token_exchange;
  if (!exchange.enabled) {
    return [
      'token exchange: disabled (token_exchange.enabled false): forwarded to the upstream, whose token is narrowed as for any grant',
    ];
  }
  const lines = [
    `token exchange: served by scopegate; --granted stands for the subject token's scopes (client auth ${exchange.client_auth}, ${exchange.clients.length} listed client(s))`,
  ];
  if (exchange.retarget.length === 0) {
    lines.push("  audience: the subject's only (no retarget rules)");
  }
  for (const rule of exchange.retarget) {
    const who = rule.clients ? `clients ${rule.clients.join(', ')}` : 'any authenticated client';
    lines.push(`  retarget: ${rule.from} -> ${rule.to.join(', ')} (${who})`);
  }
  return lines;
}
