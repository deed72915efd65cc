/**
 * The shape of the issued `scope` claim: a space-delimited string (RFC 9068, the default) or a
 * JSON array for integrations that demand one. The first matching client rule wins.
 */
import type { Config } from '../../config/schema.js';
import { clientRuleFor } from './client-rule.js';

export function scopeFormatFor(
  config: Config,
  clientId: string | undefined,
  audiences: readonly string[],
): 'string' | 'array' {
  return clientRuleFor(config, clientId, audiences)?.scope_format ?? config.tokens.scope_format;
}
