/**
 * The upstream endpoints scopegate answers itself because the upstream does not know scopegate's
 * tokens: userinfo (with tokens.upstream_token_key) and introspection. Their paths come from the
 * upstream's discovery document (known from start-up, with the upstream's keys), compared on
 * canonical route keys: every spelling that canonicalises to the endpoint (case, a trailing
 * slash, dot segments, percent-encoding, matrix parameters) reaches scopegate's handler, and
 * spellings an upstream may route there too (`/me.json`, `/me/x`) are refused, never proxied.
 */
import type { Config } from '../../config/schema.js';
import { configuredSegments, furthestReach, type Reach, routeSegments } from '../http/route-key.js';
import { embeddingKeyOf } from '../issued/embedded-upstream-token.js';
import type { Runtime } from '../runtime/runtime.js';

export type ServedEndpoint = 'userinfo' | 'introspection';

const FIELDS: Record<ServedEndpoint, string> = {
  userinfo: 'userinfo_endpoint',
  introspection: 'introspection_endpoint',
};

export type EndpointMatch =
  /** The endpoint itself: `path` is where it is on the upstream (its base path included). */
  | { endpoint: ServedEndpoint; reach: 'exact'; path: string }
  /** Something an upstream may route to the endpoint: refused. */
  | { endpoint: ServedEndpoint; reach: 'beyond' };

/** Whether scopegate answers this endpoint under this configuration. */
export function servesEndpoint(endpoint: ServedEndpoint, config: Config): boolean {
  // Userinfo needs the upstream's token, which only tokens.upstream_token_key carries.
  return endpoint === 'introspection' || embeddingKeyOf(config) !== undefined;
}

/**
 * The endpoint's path on the upstream, when its document names one on the upstream's own origin
 * (or its issuer's: the same host seen from outside), as discovery advertises it.
 */
export function upstreamEndpointPath(
  endpoint: ServedEndpoint,
  runtime: Runtime,
): string | undefined {
  const document = runtime.discovery.knownDocument();
  const value = document?.[FIELDS[endpoint]];
  if (typeof value !== 'string' || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  const origins = new Set([new URL(runtime.config.upstream.url).origin]);
  if (typeof document?.issuer === 'string' && URL.canParse(document.issuer)) {
    origins.add(new URL(document.issuer).origin);
  }
  return origins.has(url.origin) ? url.pathname : undefined;
}

function reachOf(path: string, endpointPath: string, base: readonly string[]): Reach {
  let target: string[];
  try {
    target = configuredSegments(endpointPath);
  } catch {
    return 'none'; // a path without a canonical form can never be requested
  }
  const own = routeSegments(path);
  return furthestReach(base.length === 0 ? [own] : [own, [...base, ...own]], target);
}

/** Which served endpoint a canonical request path (below the issuer's path) leads to, if any. */
export function servedEndpointFor(path: string, runtime: Runtime): EndpointMatch | undefined {
  const base = routeSegments(new URL(runtime.config.upstream.url).pathname);
  for (const endpoint of ['userinfo', 'introspection'] as const) {
    if (!servesEndpoint(endpoint, runtime.config)) continue;
    const endpointPath = upstreamEndpointPath(endpoint, runtime);
    if (endpointPath === undefined) continue;
    const found = reachOf(path, endpointPath, base);
    if (found === 'exact') return { endpoint, reach: 'exact', path: endpointPath };
    if (found === 'beyond' && !namesAnotherEndpoint(path, runtime, base)) {
      return { endpoint, reach: 'beyond' };
    }
  }
  return undefined;
}

/** Whether the path is exactly another endpoint the upstream's document names (proxied as is). */
function namesAnotherEndpoint(path: string, runtime: Runtime, base: readonly string[]): boolean {
  const document = runtime.discovery.knownDocument() ?? {};
  return Object.entries(document).some(
    ([name, value]) =>
      name.endsWith('_endpoint') &&
      typeof value === 'string' &&
      URL.canParse(value) &&
      reachOf(path, new URL(value).pathname, base) === 'exact',
  );
}
