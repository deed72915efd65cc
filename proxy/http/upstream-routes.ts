/**
 * The upstream paths the gateway must not proxy as they are: the token endpoint (served by
 * scopegate) and the blocked paths. Their keys are computed once per configuration, not per
 * request.
 */
import type { Config } from '../../config/schema.js';
import { routeKey } from './route-key.js';

export class UpstreamRoutes {
  /** The path of `upstream.url` without trailing slashes; '' when it has none. */
  private readonly base: string;
  private readonly tokenKey: string;
  private readonly blockedKeys: readonly string[];

  constructor(upstream: Config['upstream']) {
    this.base = new URL(upstream.url).pathname.replace(/\/+$/, '');
    this.tokenKey = routeKey(upstream.token_path);
    this.blockedKeys = upstream.blocked_paths.map(routeKey);
  }

  /**
   * The route as the client sent it and, when `upstream.url` has a base path (`.../realms/acme`),
   * as the reverse proxy appends it to that base: both spellings lead to the upstream.
   */
  private candidates(route: string): string[] {
    return this.base === '' ? [route] : [route, routeKey(`${this.base}${route}`)];
  }

  /**
   * Whether a request would reach the upstream token endpoint. The token request itself always
   * goes to `token_path` on the upstream host (forward-upstream.ts).
   */
  isToken(route: string): boolean {
    return this.candidates(route).includes(this.tokenKey);
  }

  /** Whether a request targets a blocked upstream path or anything below it. */
  isBlocked(route: string): boolean {
    if (this.blockedKeys.length === 0) return false;
    const candidates = this.candidates(route);
    return this.blockedKeys.some((key) =>
      candidates.some((candidate) => candidate === key || candidate.startsWith(`${key}/`)),
    );
  }
}
