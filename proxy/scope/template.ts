/**
 * Dynamic-scope templates (Cloudentity semantics). A scope splits on `.` into segments; a `*`
 * segment matches exactly one non-empty segment, except in the last position, where it matches
 * one or more. Other segments compare exactly. The text each `*` matched is a parameter.
 */
import { isScopeToken } from './grammar.js';

export interface CompiledTemplate {
  readonly source: string;
  /** True when the template has at least one `*` segment. */
  readonly dynamic: boolean;
  readonly wildcardCount: number;
  /** The parameters when `scope` matches, otherwise null. A plain template yields []. */
  match(scope: string): string[] | null;
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
  if (segments.some((segment) => segment !== '*' && segment.includes('*'))) {
    return 'a * must be a whole segment (accounts.* not acc*)';
  }
  return undefined;
}

export function compileTemplate(template: string): CompiledTemplate {
  const problem = templateSyntaxError(template);
  if (problem) throw new Error(`invalid scope template "${template}": ${problem}`);
  const segments = template.split('.');
  const wildcardCount = segments.filter((segment) => segment === '*').length;
  if (wildcardCount === 0) {
    return {
      source: template,
      dynamic: false,
      wildcardCount,
      match: (scope) => (scope === template ? [] : null),
    };
  }
  const last = segments.length - 1;
  const trailingWildcard = segments[last] === '*';
  return {
    source: template,
    dynamic: true,
    wildcardCount,
    match(scope) {
      const parts = scope.split('.');
      if (trailingWildcard ? parts.length < segments.length : parts.length !== segments.length) {
        return null;
      }
      const params: string[] = [];
      for (let index = 0; index < segments.length; index++) {
        const expected = segments[index] as string;
        if (index === last && trailingWildcard) {
          const rest = parts.slice(index);
          if (rest.some((part) => part === '')) return null;
          params.push(rest.join('.'));
        } else if (expected === '*') {
          const part = parts[index] as string;
          if (part === '') return null;
          params.push(part);
        } else if (parts[index] !== expected) {
          return null;
        }
      }
      return params;
    },
  };
}
