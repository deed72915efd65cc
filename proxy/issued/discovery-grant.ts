/**
 * Discovery tells the truth: when scopegate serves token exchange, its metadata lists the grant
 * (RFC 8414 `grant_types_supported`, whose absence means authorization_code and implicit only).
 */
import type { Config } from '../../config/schema.js';
import { TOKEN_EXCHANGE_GRANT } from './token-types.js';

/** RFC 8414's default (authorization_code, implicit) less implicit, which scopegate refuses. */
const RFC8414_DEFAULT_GRANTS = ['authorization_code'];

export function advertiseTokenExchange(
  document: Record<string, unknown>,
  config: Config,
): Record<string, unknown> {
  if (!config.token_exchange.enabled) return document;
  const listed = document.grant_types_supported;
  const grants = Array.isArray(listed) ? listed : RFC8414_DEFAULT_GRANTS;
  if (grants.includes(TOKEN_EXCHANGE_GRANT)) return document;
  return { ...document, grant_types_supported: [...grants, TOKEN_EXCHANGE_GRANT] };
}
