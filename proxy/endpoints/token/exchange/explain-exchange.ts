/**
 * What `scopegate explain --grant urn:ietf:params:oauth:grant-type:token-exchange` adds: the
 * granted scopes stand for the subject token's, the upstream is not asked, which client the
 * policies see (as the exchange endpoint decides it) and which audience changes the
 * configuration allows.
 */
import type { Config } from '../../../../config/schema.js';
import { TOKEN_EXCHANGE_GRANT } from '../../../issued/token-types.js';

export function isExchangeGrant(grant: string | undefined): boolean {
  return grant === TOKEN_EXCHANGE_GRANT;
}

/** Whom `--client` stands for in an exchange: the same rule as proxy/endpoints/token/exchange/exchange-grant.ts. */
function clientNote(config: Config, client: string | undefined): string {
  const exchange = config.token_exchange;
  const listed = client !== undefined && exchange.clients.some((c) => c.client_id === client);
  if (!listed && exchange.client_auth === 'required') {
    return `  client ${client ?? '(none)'}: not an authenticated exchange client, and client_auth is required: such an exchange is refused (401 invalid_client)`;
  }
  if (client === undefined) {
    return '  client (none): an unauthenticated exchange of a subject that names no client (policies restricted to clients refuse)';
  }
  if (listed) {
    return `  client ${client}: listed in token_exchange.clients: when it authenticates, policies see it and the token's client_id is ${client}`;
  }
  return `  client ${client}: not in token_exchange.clients: stands for the subject token's client in an unauthenticated exchange, which keeps it as client_id`;
}

export function exchangeNotes(config: Config, client?: string): string[] {
  const exchange = config.token_exchange;
  if (!exchange.enabled) {
    return [
      'token exchange: disabled (token_exchange.enabled false): forwarded to the upstream, whose token is narrowed as for any grant',
    ];
  }
  const lines = [
    `token exchange: served by scopegate; --granted stands for the subject token's scopes (client auth ${exchange.client_auth}, ${exchange.clients.length} listed client(s))`,
    clientNote(config, client),
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
