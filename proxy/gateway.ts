/**
 * The public listener's router: the token endpoint, scopegate's JWKS and discovery documents,
 * and the reverse proxy for everything else.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';
import { requestIdFor } from './http/headers.js';
import {
  invalidRequest,
  OAuthError,
  sendJson,
  sendOAuthError,
  unavailable,
} from './http/oauth-error.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { ReverseProxy } from './reverse-proxy.js';
import type { Runtime } from './runtime.js';
import { handleTokenRequest } from './token/token-endpoint.js';
import { rewriteDiscovery } from './upstream/discovery.js';

export const JWKS_PATH = '/.well-known/jwks.json';
export const DISCOVERY_PATHS = new Set([
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
]);

export interface GatewayDeps {
  runtime: () => Runtime;
  metrics: Metrics;
  logger: Logger;
  proxy: ReverseProxy;
}

/**
 * The path the upstream will act on. http-proxy-3 rebuilds the outgoing path with WHATWG URL
 * parsing, which resolves `.`/`..` segments (also as `%2e`) and turns an absolute-form target
 * (`POST http://host/oauth/token`) into its path; routing must look at the same path, or
 * `/x/../oauth/token` would be proxied to the upstream token endpoint and its unnarrowed token
 * returned as is.
 */
export function upstreamPath(rawUrl: string): string | undefined {
  // A leading `//` would otherwise parse as a network-path reference (a host, not a path).
  const url = rawUrl.startsWith('//') ? `http://base.invalid${rawUrl}` : rawUrl;
  try {
    return new URL(url, 'http://base.invalid').pathname;
  } catch {
    // http-proxy-3 would throw on it too, synchronously, out of the request handler.
    return undefined;
  }
}

/**
 * A comparison key for routes: servers in front of IdPs commonly decode `%xx` (`%2F` included)
 * and then resolve dot segments and merge slashes (nginx), ignore a trailing slash and letter
 * case (koa-router, Express) and strip `;params` (servlet containers), so every spelling the
 * upstream may treat as the same route is one route.
 */
export function routeKey(pathname: string): string {
  let decoded = pathname;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    // Malformed escapes: compare the raw text.
  }
  const segments: string[] = [];
  for (const segment of decoded.toLowerCase().split(/[/\\]+/)) {
    const name = segment.replace(/;.*$/, '');
    if (name === '' || name === '.') continue;
    if (name === '..') segments.pop();
    else segments.push(name);
  }
  return `/${segments.join('/')}`;
}

/**
 * Whether a request would reach the upstream token endpoint. Two spellings lead there: the
 * configured token path itself, and, when `upstream.url` has a base path (`.../realms/acme`),
 * the client path that the reverse proxy appends to that base. The token request itself always
 * goes to `token_path` on the upstream host (forward-upstream.ts).
 */
function isTokenRoute(route: string, upstream: Config['upstream']): boolean {
  if (route === routeKey(upstream.token_path)) return true;
  const base = new URL(upstream.url).pathname;
  if (base === '/' || base === '') return false;
  const proxied = `${base.replace(/\/+$/, '')}${route}`;
  return routeKey(proxied) === routeKey(new URL(upstream.token_path, upstream.url).pathname);
}

/**
 * Whether a request targets a blocked upstream path or anything below it, spelled however, as
 * the client sent it or as the proxy would append it to the upstream's base path.
 */
function isBlockedRoute(route: string, upstream: Config['upstream']): boolean {
  if (upstream.blocked_paths.length === 0) return false;
  const base = new URL(upstream.url).pathname.replace(/\/+$/, '');
  const candidates = base === '' ? [route] : [route, routeKey(`${base}${route}`)];
  return upstream.blocked_paths.some((blocked) => {
    const key = routeKey(blocked);
    return candidates.some((candidate) => candidate === key || candidate.startsWith(`${key}/`));
  });
}

const JWKS_KEY = routeKey(JWKS_PATH);
const DISCOVERY_KEYS = new Set([...DISCOVERY_PATHS].map(routeKey));
const TOKEN_METHODS = 'POST, OPTIONS';

const PUBLIC_DOCUMENT_HEADERS = {
  'cache-control': 'public, max-age=300',
  'access-control-allow-origin': '*',
};

async function serveDiscovery(res: ServerResponse, runtime: Runtime, logger: Logger, id: string) {
  try {
    const upstream = await runtime.discovery.document();
    const document = rewriteDiscovery(
      upstream,
      runtime.config.issuer,
      runtime.config.upstream.token_path,
    );
    sendJson(res, 200, document, PUBLIC_DOCUMENT_HEADERS);
  } catch (error) {
    logger.warn({ requestId: id, error: (error as Error).message }, 'discovery unavailable');
    sendOAuthError(res, unavailable('the upstream discovery document is unavailable'));
  }
}

export function createGatewayHandler(deps: GatewayDeps) {
  const { metrics, logger } = deps;
  return (req: IncomingMessage, res: ServerResponse): void => {
    metrics.inFlight.inc({ listener: 'public' });
    res.on('close', () => metrics.inFlight.dec({ listener: 'public' }));
    const requestId = requestIdFor(req, randomUUID);
    res.setHeader('x-request-id', requestId);
    // One generation serves the whole request, even if a reload lands midway.
    const runtime = deps.runtime();
    const path = upstreamPath(req.url ?? '/');
    if (path === undefined) {
      req.resume();
      sendOAuthError(res, invalidRequest('the request target is not a valid URL'));
      return;
    }
    const route = routeKey(path);
    const method = req.method ?? 'GET';
    const isRead = method === 'GET' || method === 'HEAD';

    if (isTokenRoute(route, runtime.config.upstream)) {
      if (method === 'POST') {
        void handleTokenRequest(req, res, { runtime, metrics, logger, requestId });
        return;
      }
      // Any other method reaching the upstream token endpoint could return its token untouched
      // (some IdPs still accept GET); only the CORS preflight, which carries no grant, passes.
      if (method !== 'OPTIONS') {
        req.resume();
        res.setHeader('allow', TOKEN_METHODS);
        sendOAuthError(
          res,
          new OAuthError('invalid_request', 'the token endpoint takes POST', 405),
        );
        return;
      }
    }
    if (route === JWKS_KEY && isRead) {
      sendJson(res, 200, runtime.signingKeys.jwks(), {
        ...PUBLIC_DOCUMENT_HEADERS,
        'content-type': 'application/jwk-set+json',
      });
      return;
    }
    if (DISCOVERY_KEYS.has(route) && isRead) {
      void serveDiscovery(res, runtime, logger, requestId);
      return;
    }
    if (isBlockedRoute(route, runtime.config.upstream)) {
      req.resume();
      sendJson(res, 404, { error: 'not_found', error_description: 'this path is not served' });
      return;
    }
    deps.proxy.forward(
      req,
      res,
      runtime.config.upstream.url,
      runtime.config.upstream.timeout,
      requestId,
    );
  };
}
