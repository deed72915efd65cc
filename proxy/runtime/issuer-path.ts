/**
 * An issuer with a path (`https://host/gw`): scopegate serves its documents and endpoints under
 * that path, as clients derive them from the issuer. Requests under the path have it removed
 * before routing; the rest (the upstream's own paths) are routed as before. Computed once per
 * configuration.
 */
import { routeKey } from '../http/route-key.js';

export class IssuerPath {
  /** The issuer's path without trailing slashes: '' for an issuer at the root. */
  readonly path: string;
  private readonly insertedDiscoveryKeys: ReadonlySet<string>;

  constructor(issuer: string, discoveryPaths: Iterable<string>) {
    this.path = new URL(issuer).pathname.replace(/\/+$/, '');
    this.insertedDiscoveryKeys = new Set(
      this.path === '' ? [] : [...discoveryPaths].map((well) => routeKey(`${well}${this.path}`)),
    );
  }

  /**
   * The path below the issuer's path, or undefined when `path` (a normalised request path) is not
   * under it. Compared as sent (case-sensitive), like the issuer URL clients build paths from.
   */
  below(path: string): string | undefined {
    if (this.path === '') return undefined;
    if (path === this.path) return '/';
    if (path.startsWith(`${this.path}/`)) return path.slice(this.path.length);
    return undefined;
  }

  /** RFC 8414 §3.1: the well-known segment inserted between the host and the issuer's path. */
  isInsertedDiscovery(route: string): boolean {
    return this.insertedDiscoveryKeys.has(route);
  }
}

/** The query part of a raw request target ('' when it has none). */
export function querySuffix(rawUrl: string): string {
  const start = rawUrl.indexOf('?');
  return start < 0 ? '' : rawUrl.slice(start);
}
