/**
 * How two templates relate as sets of concrete scopes. A client may ask for a template itself
 * (`accounts.read.*`), and the token then carries a scope that stands for many concrete scopes:
 * granting it is only safe when every one of them is covered (containment), and every policy that
 * governs any one of them must apply to it (overlap).
 */
import { type CompiledTemplate, WILDCARD } from './template.js';

/**
 * True when every concrete scope `inner` matches is also matched by `outer`. With `*` segments of
 * `inner` read as literal values this is exactly `outer` matching `inner`'s segments: an `outer`
 * wildcard accepts an `inner` wildcard in the same role (one segment, or one-or-more at the end),
 * while an `outer` literal never accepts an `inner` wildcard, which stands for more than it.
 */
export function contains(outer: CompiledTemplate, inner: CompiledTemplate): boolean {
  return outer.matchSegments(inner.segments) !== null;
}

/** True when at least one concrete scope is matched by both templates. */
export function overlaps(a: CompiledTemplate, b: CompiledTemplate): boolean {
  const shared = Math.min(a.segments.length, b.segments.length);
  for (let index = 0; index < shared; index++) {
    const left = a.segments[index];
    const right = b.segments[index];
    if (left !== WILDCARD && right !== WILDCARD && left !== right) return false;
  }
  if (a.segments.length === b.segments.length) return true;
  // Different lengths meet only when the shorter one ends in a wildcard that absorbs the rest.
  const shorter = a.segments.length < b.segments.length ? a : b;
  return shorter.trailingWildcard;
}
