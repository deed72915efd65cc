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
import type { CompiledScopes } from './compiled-scopes.js';
import { type CompiledTemplate, compileGrant, isDynamicTemplate, WILDCARD } from './template.js';
import { contains } from './template-relations.js';

export interface Coverage {
  /** The granted scope or template that covers the scope. */
  by: string;
  /** What the covering template's wildcards matched ([] for an exact grant). */
  params: string[];
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

  private readonly compiled: (scope: string) => CompiledTemplate;

  /**
   * `compiledScopes` is the memo of the configuration generation in force; without one, each
   * value is compiled afresh (for one-off uses such as a token's permissions).
   */
  constructor(granted: readonly string[], compiledScopes?: CompiledScopes) {
    this.compiled = compiledScopes ? (scope) => compiledScopes.get(scope) : compileGrant;
    this.exact = new Set(granted);
    for (const scope of this.exact) {
      const template = this.compiled(scope);
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
      const requested = this.compiled(scope);
      return this.best(requested.segments, (template) =>
        contains(template, requested) ? template.matchSegments(requested.segments) : null,
      );
    }
    const parts = scope.split('.');
    return this.best(parts, (template) => template.matchSegments(parts));
  }
}
