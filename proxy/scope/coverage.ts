/**
 * Which granted scope covers a requested one. This is the no-escalation rule: a scope is issued
 * only when the verified upstream token granted it exactly, or granted a template that covers it.
 *
 * - A concrete scope is covered by a granted template that matches it.
 * - A requested template (`accounts.read.*`) is covered only by a granted template that contains
 *   it, i.e. matches every concrete scope it stands for (`accounts.*` contains `accounts.read.*`;
 *   `accounts.*.*` does not contain `accounts.*`, which also stands for `accounts.read`).
 * - A scope with a `*` that is not a whole segment (`acc*`, `accounts.re*`) is covered only by an
 *   identical grant: a resource server that globs must never see one it was not granted.
 *
 * When several grants cover a scope the choice is canonical (exact, then the most specific
 * template), so the explanation does not depend on the order the upstream listed its scopes.
 */
import { type CompiledTemplate, compileGrant, isDynamicTemplate, WILDCARD } from './template.js';
import { contains } from './template-relations.js';

export interface Coverage {
  /** The granted scope or template that covers the scope. */
  by: string;
  /** What the covering template's wildcards matched ([] for an exact grant). */
  params: string[];
}

/**
 * Granted values repeat from token to token (the same client, the same API): each is compiled
 * once and kept. Bounded, because the values come from outside: when full, it starts afresh,
 * which costs one recompilation per value and keeps every lookup a plain Map read.
 */
const MAX_COMPILED_GRANTS = 8192;
const compiledGrants = new Map<string, CompiledTemplate>();

function compiled(scope: string): CompiledTemplate {
  let template = compiledGrants.get(scope);
  if (!template) {
    template = compileGrant(scope);
    if (compiledGrants.size >= MAX_COMPILED_GRANTS) compiledGrants.clear();
    compiledGrants.set(scope, template);
  }
  return template;
}

/** Negative when `a` is more specific: more literal segments, then more segments, then by name. */
function specificity(a: CompiledTemplate, b: CompiledTemplate): number {
  return (
    b.literalCount - a.literalCount ||
    b.segments.length - a.segments.length ||
    (a.source < b.source ? -1 : a.source > b.source ? 1 : 0)
  );
}

export class GrantedScopes {
  private readonly exact: ReadonlySet<string>;
  /** Granted templates by their first segment when it is literal. */
  private readonly byFirstSegment = new Map<string, CompiledTemplate[]>();
  /** Granted templates that start with a wildcard: they may cover any scope. */
  private readonly wildcardFirst: CompiledTemplate[] = [];

  constructor(granted: readonly string[]) {
    this.exact = new Set(granted);
    for (const scope of this.exact) {
      const template = compiled(scope);
      if (!template.dynamic) continue;
      const first = template.segments[0] as string;
      if (first === WILDCARD) {
        this.wildcardFirst.push(template);
        continue;
      }
      const bucket = this.byFirstSegment.get(first);
      if (bucket) bucket.push(template);
      else this.byFirstSegment.set(first, [template]);
    }
  }

  /**
   * The most specific granted template covering `parts` (a concrete scope's segments), or
   * undefined. Only templates whose first segment is that of the scope, or a wildcard, can.
   */
  private best(
    parts: readonly string[],
    covers: (template: CompiledTemplate) => string[] | null,
  ): Coverage | undefined {
    let best: CompiledTemplate | undefined;
    let params: string[] | null = null;
    const first = parts[0] as string;
    const buckets = first === WILDCARD ? [] : [this.byFirstSegment.get(first) ?? []];
    buckets.push(this.wildcardFirst);
    for (const bucket of buckets) {
      for (const template of bucket) {
        if (best && specificity(template, best) > 0) continue;
        const matched = covers(template);
        if (matched) {
          best = template;
          params = matched;
        }
      }
    }
    return best && params ? { by: best.source, params } : undefined;
  }

  /** The grant covering `scope`, or undefined when nothing granted covers it. */
  cover(scope: string): Coverage | undefined {
    if (this.exact.has(scope)) return { by: scope, params: [] };
    if (this.byFirstSegment.size === 0 && this.wildcardFirst.length === 0) return undefined;
    if (scope.includes(WILDCARD)) {
      if (!isDynamicTemplate(scope)) return undefined;
      // A requested template: only a granted template that contains it covers it.
      const requested = compiled(scope);
      return this.best(requested.segments, (template) =>
        contains(template, requested) ? template.matchSegments(requested.segments) : null,
      );
    }
    const parts = scope.split('.');
    return this.best(parts, (template) => template.matchSegments(parts));
  }
}
