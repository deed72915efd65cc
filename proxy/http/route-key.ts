/**
 * How canonical paths are compared with the upstream paths scopegate serves or blocks. Servers in
 * front of IdPs may ignore letter case and a trailing slash (IIS, Express, koa-router), match a
 * suffix such as `.json` (Spring's suffix patterns, servlet extension mappings) or route a
 * sub-path to the same handler: all of those reach the protected endpoint, so all of them count.
 */
import { canonicalPath } from './request-target.js';

/** The segments of a canonical path, lower-cased, without the empty segment of a trailing slash. */
export function routeSegments(path: string): string[] {
  return path
    .toLowerCase()
    .split('/')
    .filter((segment) => segment !== '');
}

/** One comparison key for a path: its route segments, joined. */
export function routeKey(path: string): string {
  return `/${routeSegments(path).join('/')}`;
}

/** The segments of a configured path (token_path, blocked_paths, the upstream's base path). */
export function configuredSegments(path: string): string[] {
  const canonical = canonicalPath(path);
  if ('reason' in canonical) throw new Error(`${path}: ${canonical.reason}`);
  return routeSegments(canonical.path);
}

export type Reach = 'exact' | 'beyond' | 'none';

/**
 * Whether `candidate` names the protected path exactly, names something a server may route to it
 * (a sub-path, or a suffix on its last segment that does not continue the name: `token.json`,
 * `token~`, but not `tokeninfo` or `token-introspection`), or neither.
 */
export function reach(candidate: readonly string[], protectedPath: readonly string[]): Reach {
  const last = protectedPath.length - 1;
  if (last < 0) return candidate.length === 0 ? 'exact' : 'beyond';
  if (candidate.length <= last) return 'none';
  for (let i = 0; i < last; i++) if (candidate[i] !== protectedPath[i]) return 'none';
  const segment = candidate[last] as string;
  const name = protectedPath[last] as string;
  if (segment === name) return candidate.length === protectedPath.length ? 'exact' : 'beyond';
  if (segment.startsWith(name) && /^[^a-z0-9_-]/.test(segment.slice(name.length))) {
    return 'beyond';
  }
  return 'none';
}

/**
 * The furthest any of a request's spellings (as the client sent it, as the upstream receives it
 * under its base path) reaches the protected path: `exact` wins, then `beyond`.
 */
export function furthestReach(
  candidates: readonly (readonly string[])[],
  protectedPath: readonly string[],
): Reach {
  let found: Reach = 'none';
  for (const candidate of candidates) {
    const result = reach(candidate, protectedPath);
    if (result === 'exact') return 'exact';
    if (result === 'beyond') found = 'beyond';
  }
  return found;
}
