/**
 * Dynamic-scope templates (Cloudentity semantics). A scope splits on `.` into segments; a `*`
 * segment matches exactly one non-empty segment, except in the last position, where it matches
 * one or more. Other segments compare exactly (case-sensitive). The text each `*` matched is a
 * parameter; a trailing `*` captures the joined rest.
 *
 * Templates are parsed once into segments; matching walks the segments of a scope that the caller
 * may have split already, so one scope is split once however many templates it is checked against.
 */
import { isScopeToken } from './grammar.js';

export const WILDCARD = '*';

export interface CompiledTemplate {
  readonly source: string;
  readonly segments: readonly string[];
  /** True when the template has at least one `*` segment. */
  readonly dynamic: boolean;
  readonly wildcardCount: number;
  /** The last segment is `*`: it matches one or more segments. */
  readonly trailingWildcard: boolean;
  /** Segments that are not `*`: the more, the more specific the template. */
  readonly literalCount: number;
  /** The parameters when `scope` matches, otherwise null. A plain template yields []. */
  match(scope: string): string[] | null;
  /** As match, for a scope already split on `.`. */
  matchSegments(parts: readonly string[]): string[] | null;
}

/** Why a template is malformed, or undefined when it is fine. */
export function templateSyntaxError(template: string): string | undefined {
  if (template === '') return 'a template must not be empty';
  if (/\s/.test(template)) return 'a template must not contain whitespace';
  if (!isScopeToken(template)) {
    return 'a template may only contain the characters RFC 6749 section 3.3 allows in a scope';
  }
  const segments = template.split('.');
  if (segments.some((segment) => segment === '')) {
    return 'a template must not have empty segments (leading, trailing or repeated dots)';
  }
  if (segments.some((segment) => segment !== WILDCARD && segment.includes(WILDCARD))) {
    return 'a * must be a whole segment (accounts.* not acc*)';
  }
  return undefined;
}

/**
 * True when `scope` is a well-formed template with at least one `*` segment. A scope such as
 * `acc*` is not a template: it is an opaque scope that only an identical grant covers.
 */
export function isDynamicTemplate(scope: string): boolean {
  return scope.split('.').includes(WILDCARD) && templateSyntaxError(scope) === undefined;
}

function matcher(
  segments: readonly string[],
  trailingWildcard: boolean,
): (parts: readonly string[]) => string[] | null {
  const last = segments.length - 1;
  return (parts) => {
    if (trailingWildcard ? parts.length < segments.length : parts.length !== segments.length) {
      return null;
    }
    const params: string[] = [];
    for (let index = 0; index < segments.length; index++) {
      const expected = segments[index] as string;
      if (expected !== WILDCARD) {
        if (parts[index] !== expected) return null;
        continue;
      }
      if (index === last && trailingWildcard) {
        // One or more segments, none of them empty: `accounts..x` is not an instance.
        for (let rest = index; rest < parts.length; rest++) if (parts[rest] === '') return null;
        params.push(
          parts.length === index + 1 ? (parts[index] as string) : parts.slice(index).join('.'),
        );
        continue;
      }
      const part = parts[index] as string;
      if (part === '') return null;
      params.push(part);
    }
    return params;
  };
}

/** Compiles a template that templateSyntaxError accepts; throws on a malformed one. */
export function compileTemplate(template: string): CompiledTemplate {
  const problem = templateSyntaxError(template);
  if (problem) throw new Error(`invalid scope template "${template}": ${problem}`);
  const segments = Object.freeze(template.split('.'));
  const wildcardCount = segments.filter((segment) => segment === WILDCARD).length;
  if (wildcardCount === 0) {
    const matchSegments = (parts: readonly string[]) =>
      parts.length === segments.length && parts.join('.') === template ? [] : null;
    return {
      source: template,
      segments,
      dynamic: false,
      wildcardCount,
      trailingWildcard: false,
      literalCount: segments.length,
      match: (scope) => (scope === template ? [] : null),
      matchSegments,
    };
  }
  const trailingWildcard = segments[segments.length - 1] === WILDCARD;
  const matchSegments = matcher(segments, trailingWildcard);
  return {
    source: template,
    segments,
    dynamic: true,
    wildcardCount,
    trailingWildcard,
    literalCount: segments.length - wildcardCount,
    match: (scope) => matchSegments(scope.split('.')),
    matchSegments,
  };
}

/**
 * A granted value compiled for coverage checks. A value that is not a well-formed template
 * (`acc*`, `a..b`, a character outside the scope grammar) is still a grant, of itself only.
 */
export function compileGrant(scope: string): CompiledTemplate {
  if (templateSyntaxError(scope) === undefined) return compileTemplate(scope);
  const segments = Object.freeze(scope.split('.'));
  return {
    source: scope,
    segments,
    dynamic: false,
    wildcardCount: 0,
    trailingWildcard: false,
    literalCount: segments.length,
    match: (candidate) => (candidate === scope ? [] : null),
    matchSegments: (parts) => (parts.join('.') === scope ? [] : null),
  };
}
