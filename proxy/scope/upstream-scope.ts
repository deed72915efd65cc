/**
 * What scope to ask the upstream for (`upstream.scope_request`):
 * - forward: what the client asked for (IdPs that narrow by themselves);
 * - omit: nothing, so the upstream grants everything the client has (Auth0 client credentials);
 * - templates: the configured templates covering each requested concrete scope, deduplicated,
 *   because IdPs reject scopes they do not know (`accounts.read.1234`) but know `accounts.*`.
 */
import type { CompiledTemplate } from './template.js';

export type ScopeRequestMode = 'forward' | 'omit' | 'templates';

/** The upstream's scope parameter, or undefined to send none. */
export function upstreamScope(
  mode: ScopeRequestMode,
  requested: readonly string[] | undefined,
  templates: readonly CompiledTemplate[],
): string | undefined {
  if (requested === undefined || mode === 'omit') return undefined;
  if (mode === 'forward') return requested.join(' ');
  const asked = new Set<string>();
  for (const scope of requested) {
    const covering = templates.filter((template) => template.match(scope) !== null);
    if (covering.length === 0) asked.add(scope);
    for (const template of covering) asked.add(template.source);
  }
  return [...asked].join(' ');
}
