/**
 * The public listener's router: the token endpoint, scopegate's JWKS and discovery documents,
 * and the reverse proxy for everything else.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestIdFor } from './http/headers.js';
import {
  invalidRequest,
  OAuthError,
  sendJson,
  sendOAuthError,
  unavailable,
} from './http/oauth-error.js';
import { routeKey, upstreamPath } from './http/route-key.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { locationRewriterFor } from './oidc/authorization-response.js';
import { carriesIdTokenHint, translateIdTokenHint } from './oidc/id-token-hint.js';
import { querySuffix } from './oidc/issuer-path.js';
import { metadataContextOf, publicMetadata } from './oidc/public-metadata.js';
import { handleRevocation, revocationPathFor } from './oidc/revocation.js';
import type { ReverseProxy } from './reverse-proxy.js';
import { DISCOVERY_WELL_KNOWN, type Runtime } from './runtime.js';
import { handleTokenRequest } from './token/token-endpoint.js';

export const JWKS_PATH = '/.well-known/jwks.json';
export const DISCOVERY_PATHS = new Set<string>(DISCOVERY_WELL_KNOWN);

export interface GatewayDeps {
  runtime: () => Runtime;
  metrics: Metrics;
  logger: Logger;
  proxy: ReverseProxy;
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
    const document = publicMetadata(upstream, metadataContextOf(runtime));
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
    let path = upstreamPath(req.url ?? '/');
    if (path === undefined) {
      req.resume();
      sendOAuthError(res, invalidRequest('the request target is not a valid URL'));
      return;
    }
    // An issuer with a path serves everything under it: the path is removed, and the request
    // target rebuilt from the normalised path, so what is routed is exactly what is proxied.
    const below = runtime.issuerPath.below(path);
    if (below !== undefined) {
      req.url = `${below}${querySuffix(req.url ?? '')}`;
      path = below;
    }
    const route = routeKey(path);
    const method = req.method ?? 'GET';
    const isRead = method === 'GET' || method === 'HEAD';

    if (runtime.routes.isToken(route)) {
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
    const isDiscovery = DISCOVERY_KEYS.has(route) || runtime.issuerPath.isInsertedDiscovery(route);
    if (isDiscovery && isRead) {
      void serveDiscovery(res, runtime, logger, requestId);
      return;
    }
    if (runtime.routes.isBlocked(route)) {
      req.resume();
      sendJson(res, 404, { error: 'not_found', error_description: 'this path is not served' });
      return;
    }
    const revocation = method === 'POST' ? revocationPathFor(route, runtime) : undefined;
    if (revocation !== undefined) {
      void handleRevocation(req, res, revocation, runtime, requestId);
      return;
    }
    const forward = () =>
      deps.proxy.forward(
        req,
        res,
        runtime.config.upstream.url,
        runtime.config.upstream.timeout,
        requestId,
        runtime.trustedProxies,
        locationRewriterFor(runtime),
      );
    if (carriesIdTokenHint(req.url)) {
      // The hint is scopegate's ID token: verified here and translated for the upstream.
      translateIdTokenHint(req.url ?? '/', runtime).then(
        (target) => {
          req.url = target;
          forward();
        },
        (error: unknown) => {
          req.resume();
          sendOAuthError(
            res,
            error instanceof OAuthError ? error : invalidRequest('id_token_hint is not valid'),
          );
        },
      );
      return;
    }
    forward();
  };
}
