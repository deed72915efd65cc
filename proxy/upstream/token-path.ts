/**
 * Where the upstream token endpoint is. Intercepting any other path than the one the upstream
 * actually issues tokens on would proxy the real one raw, so the configured path and the
 * upstream's discovery document must agree; without a configured path, discovery decides.
 */
import type { Config } from '../../config/schema.js';
import { configuredSegments } from '../http/route-key.js';
import type { UpstreamDiscovery } from './discovery.js';
import { upstreamUrl } from './upstream-url.js';

export class TokenPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenPathError';
  }
}

export interface ResolvedTokenPath {
  path: string;
  /** Where the path came from, for `check` and the start-up log. */
  source: 'discovery' | 'config';
  /** Why discovery could not confirm a configured path, when it could not. */
  unconfirmed?: string;
  /**
   * Paths of the other endpoints the upstream's discovery names (`revocation_endpoint`,
   * `introspection_endpoint`, ...) on its origin: oidc-provider and Keycloak put some below the
   * token path, and the upstream itself says they are not the token endpoint.
   */
  otherEndpoints: string[];
}

/** The paths of the document's other `*_endpoint` URLs on the upstream's origin. */
function otherEndpointPaths(document: Record<string, unknown>, upstreamUrl: string): string[] {
  const origin = new URL(upstreamUrl).origin;
  const paths: string[] = [];
  for (const [name, value] of Object.entries(document)) {
    if (!name.endsWith('_endpoint') || name === 'token_endpoint' || typeof value !== 'string') {
      continue;
    }
    if (!URL.canParse(value)) continue;
    const url = new URL(value);
    if (url.origin === origin) paths.push(url.pathname);
  }
  return paths;
}

function samePath(a: string, b: string): boolean {
  return configuredSegments(a).join('/') === configuredSegments(b).join('/');
}

/**
 * The discovery document's `token_endpoint` as a path on the upstream, or why it is not one.
 * An endpoint on another origin could not be intercepted at all: it is an error, not a path.
 */
function discoveredPath(
  endpoint: unknown,
  upstreamUrl: string,
): { path: string } | { missing: string } {
  if (typeof endpoint !== 'string' || endpoint === '') {
    return { missing: 'the upstream discovery document has no token_endpoint' };
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TokenPathError(`the upstream discovery token_endpoint "${endpoint}" is not a URL`);
  }
  const upstream = new URL(upstreamUrl);
  if (url.origin !== upstream.origin) {
    throw new TokenPathError(
      `the upstream discovery token_endpoint "${endpoint}" is not on upstream.url's origin "${upstream.origin}"`,
    );
  }
  return { path: url.pathname };
}

export async function resolveTokenPath(
  upstream: Config['upstream'],
  discovery: UpstreamDiscovery,
): Promise<ResolvedTokenPath> {
  const configured = upstream.token_path;
  const documentUrl = upstreamUrl(upstream.url, upstream.discovery_path).href;
  let endpoint: unknown;
  let otherEndpoints: string[] = [];
  try {
    const document = await discovery.document();
    endpoint = document.token_endpoint;
    otherEndpoints = otherEndpointPaths(document, upstream.url);
  } catch (error) {
    const reason = `the upstream discovery document ${documentUrl} could not be fetched: ${(error as Error).message}`;
    if (configured === undefined) {
      throw new TokenPathError(`upstream.token_path is not set and ${reason}`);
    }
    return { path: configured, source: 'config', unconfirmed: reason, otherEndpoints };
  }
  const discovered = discoveredPath(endpoint, upstream.url);
  if ('missing' in discovered) {
    if (configured === undefined) {
      throw new TokenPathError(`upstream.token_path is not set and ${discovered.missing}`);
    }
    return { path: configured, source: 'config', unconfirmed: discovered.missing, otherEndpoints };
  }
  if (configured === undefined)
    return { path: discovered.path, source: 'discovery', otherEndpoints };
  if (!samePath(configured, discovered.path)) {
    throw new TokenPathError(
      `upstream.token_path "${configured}" disagrees with the upstream discovery token_endpoint "${String(endpoint)}"`,
    );
  }
  return { path: configured, source: 'config', otherEndpoints };
}
