/**
 * The shape of the issued `scope` claim: a space-delimited string (RFC 9068, the default) or a
 * JSON array for integrations that demand one. The first matching client rule wins.
 */
import type { Config } from '../../config/schema.js';

export function scopeFormatFor(
  config: Config,
  clientId: string | undefined,
  audiences: readonly string[],
): 'string' | 'array' {
  if (clientId !== undefined) {
    for (const rule of config.clients) {
      if (rule.client_id !== clientId) continue;
      if (rule.audience !== undefined && !audiences.includes(rule.audience)) continue;
      if (rule.scope_format !== undefined) return rule.scope_format;
      break;
    }
  }
  return config.tokens.scope_format;
}
