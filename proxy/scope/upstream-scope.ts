/**
 * What scope to ask the upstream for (`upstream.scope_request`):
 * - forward: what the client asked for (IdPs that narrow by themselves);
 * - omit: nothing, so the upstream grants everything the client has (Auth0 client credentials);
 * - templates: for each requested scope, the configured templates that cover it (or the scope
 *   itself when none does), deduplicated in request order, because IdPs do not know concrete
 *   scopes such as `accounts.read.1234` but do know `accounts.*`. Templates made of wildcards
 *   only (`*`, `*.*`) are governance rules over every scope, not scopes an IdP defines: they are
 *   never asked for, or a catch-all policy would replace every scope of every request.
 *
 * What is asked for never decides what is issued: the decision checks the requested scopes
 * against whatever the verified upstream token grants.
 */

import { type CompiledTemplate, compileTemplate, isDynamicTemplate, WILDCARD } from './template.js';
import { contains } from './template-relations.js';

export type ScopeRequestMode = 'forward' | 'omit' | 'templates';

/** A template with at least one literal segment: one an IdP could define as a scope. */
const askable = (template: CompiledTemplate) => template.dynamic && template.literalCount > 0;

/** Configured templates that cover `scope` (a concrete scope, or a template they contain). */
function coveringTemplates(
  scope: string,
  templates: readonly CompiledTemplate[],
): CompiledTemplate[] {
  if (scope.includes(WILDCARD)) {
    if (!isDynamicTemplate(scope)) return [];
    const requested = compileTemplate(scope);
    return templates.filter((template) => askable(template) && contains(template, requested));
  }
  const parts = scope.split('.');
  return templates.filter(
    (template) => askable(template) && template.matchSegments(parts) !== null,
  );
}

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
    const covering = coveringTemplates(scope, templates);
    if (covering.length === 0) asked.add(scope);
    for (const template of covering) asked.add(template.source);
  }
  return [...asked].join(' ');
}
