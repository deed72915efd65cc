/**
 * Which route a canonical path takes: the upstream endpoints scopegate answers itself (token
 * endpoint, discovery documents), the ones it refuses (blocked paths, anything beyond the token
 * endpoint), its own JWKS, or the reverse proxy. Paths are keyed once per configuration.
 */
import type { Config } from '../../config/schema.js';
import { canonicalPath } from '../http/request-target.js';
import { configuredSegments, furthestReach, reach, routeSegments } from '../http/route-key.js';

export const JWKS_PATH = '/.well-known/jwks.json';
export const DISCOVERY_PATHS = [
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
] as const;

export type Route =
  /** The token endpoint itself: scopegate's. */
  | 'token'
  /** A sub-path or suffix of the token endpoint, which an upstream may route to it: refused. */
  | 'beyond_token'
  /** scopegate's JWKS. */
  | 'jwks'
  /** Any spelling of a discovery document, scopegate's or the upstream's: scopegate's. */
  | 'discovery'
  /** A blocked upstream path or anything it may route there: refused. */
  | 'blocked'
  | 'proxy';

const JWKS_SEGMENTS = routeSegments(JWKS_PATH);

export class UpstreamRoutes {
  private readonly base: string[];
  private readonly token: string[];
  private readonly discovery: string[][];
  private readonly blocked: string[][];
  private readonly otherEndpoints: string[][];

  /**
   * `tokenPath` is the resolved token endpoint path (config or upstream discovery);
   * `otherEndpoints` are the upstream's other endpoints by its discovery document: exactly those
   * paths are proxied even below the token path (oidc-provider's `/token/revocation`).
   */
  constructor(upstream: Config['upstream'], tokenPath: string, otherEndpoints: string[] = []) {
    this.base = configuredSegments(new URL(upstream.url).pathname);
    this.token = configuredSegments(tokenPath);
    this.discovery = [...DISCOVERY_PATHS, upstream.discovery_path].map(configuredSegments);
    this.blocked = upstream.blocked_paths.map(configuredSegments);
    this.otherEndpoints = otherEndpoints.flatMap((path) => {
      try {
        return [configuredSegments(path)];
      } catch {
        return []; // a path without a canonical form can never be requested
      }
    });
  }

  /** Whether requests for `path` (a path scopegate would advertise) are refused, not served. */
  isRefused(path: string): boolean {
    const canonical = canonicalPath(path);
    if ('reason' in canonical) return true;
    const route = this.classify(canonical.path);
    return route === 'blocked' || route === 'beyond_token';
  }

  /** The route of a canonical path (see request-target.ts). */
  classify(path: string): Route {
    const own = routeSegments(path);
    // The request as the client spelled it and as the upstream receives it: the reverse proxy
    // appends the path to the base path of `upstream.url` (`.../realms/acme`), while configured
    // paths are absolute on the upstream host.
    const candidates = this.base.length === 0 ? [own] : [own, [...this.base, ...own]];
    if (reach(own, JWKS_SEGMENTS) === 'exact') return 'jwks';
    if (this.discovery.some((document) => furthestReach(candidates, document) !== 'none')) {
      return 'discovery';
    }
    const token = furthestReach(candidates, this.token);
    if (token === 'exact') return 'token';
    if (token === 'beyond') {
      const named = this.otherEndpoints.some(
        (other) => furthestReach(candidates, other) === 'exact',
      );
      if (!named) return 'beyond_token';
    }
    if (this.blocked.some((blocked) => furthestReach(candidates, blocked) !== 'none')) {
      return 'blocked';
    }
    return 'proxy';
  }
}
