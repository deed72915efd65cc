/**
 * The public listener's router: the token endpoint, scopegate's JWKS and discovery documents,
 * the upstream endpoints scopegate answers for its own tokens (userinfo, introspection,
 * revocation), and the reverse proxy for everything else.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { advertiseTokenExchange } from './exchange/discovery-grant.js';
import { frontChannelRefusal, queryParams } from './http/front-channel.js';
import { requestIdFor } from './http/headers.js';
import { checkedBody, hasInspectableBody } from './http/inspected-body.js';
import {
  invalidRequest,
  OAuthError,
  sendJson,
  sendOAuthError,
  unavailable,
} from './http/oauth-error.js';
import { canonicalTarget } from './http/request-target.js';
import { routeKey } from './http/route-key.js';
import { answerTokenPreflight, TOKEN_METHODS } from './http/token-preflight.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { authorizationResponseRewriteFor } from './oidc/authorization-response.js';
import { carriesIdTokenHint, translateIdTokenHint } from './oidc/id-token-hint.js';
import { handleIntrospection } from './oidc/own-introspection.js';
import { metadataContextOf, publicMetadata } from './oidc/public-metadata.js';
import { handleRevocation, revocationPathFor } from './oidc/revocation.js';
import { type EndpointMatch, servedEndpointFor } from './oidc/served-endpoints.js';
import { handleUserinfo } from './oidc/userinfo.js';
import type { ReverseProxy } from './reverse-proxy.js';
import type { Runtime } from './runtime.js';
import { handleTokenRequest } from './token/token-endpoint.js';

export interface GatewayDeps {
  runtime: () => Runtime;
  metrics: Metrics;
  logger: Logger;
  proxy: ReverseProxy;
}

const PUBLIC_DOCUMENT_HEADERS = {
  'cache-control': 'public, max-age=300',
  'access-control-allow-origin': '*',
};

async function serveDiscovery(res: ServerResponse, runtime: Runtime, logger: Logger, id: string) {
  try {
    const upstream = await runtime.discovery.document();
    const document = publicMetadata(upstream, metadataContextOf(runtime));
    // Token exchange is served by scopegate itself: advertised when enabled (proxy/exchange/).
    sendJson(res, 200, advertiseTokenExchange(document, runtime.config), PUBLIC_DOCUMENT_HEADERS);
  } catch (error) {
    logger.warn({ requestId: id, error: (error as Error).message }, 'discovery unavailable');
    sendOAuthError(res, unavailable('the upstream discovery document is unavailable'));
  }
}

function refuse(req: IncomingMessage, res: ServerResponse, error: OAuthError): void {
  req.resume();
  sendOAuthError(res, error);
}

function notServed(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  sendJson(res, 404, { error: 'not_found', error_description: 'this path is not served' });
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  refuse(req, res, new OAuthError('invalid_request', `this endpoint takes ${allow}`, 405));
}

const USERINFO_METHODS = 'GET, POST, OPTIONS';

function serveEndpoint(
  req: IncomingMessage,
  res: ServerResponse,
  served: EndpointMatch,
  query: string,
  runtime: Runtime,
  requestId: string,
): void {
  const method = req.method ?? 'GET';
  if (served.reach === 'beyond') {
    notServed(req, res);
  } else if (served.endpoint === 'userinfo') {
    if (method === 'GET' || method === 'POST') {
      void handleUserinfo(req, res, served.path, query, runtime, requestId);
    } else if (method === 'OPTIONS') {
      answerTokenPreflight(req, res, USERINFO_METHODS);
    } else {
      methodNotAllowed(req, res, USERINFO_METHODS);
    }
  } else if (method === 'POST') {
    void handleIntrospection(req, res, served.path, runtime, requestId);
  } else {
    methodNotAllowed(req, res, 'POST');
  }
}

export function createGatewayHandler(deps: GatewayDeps) {
  const { metrics, logger } = deps;
  // Bound once: a labelled inc/dec hashes its labels object on every call.
  const inFlight = metrics.inFlight.labels({ listener: 'public' });
  const finished = () => inFlight.dec();
  return (req: IncomingMessage, res: ServerResponse): void => {
    inFlight.inc();
    res.on('close', finished);
    const requestId = requestIdFor(req, randomUUID);
    res.setHeader('x-request-id', requestId);
    // One generation serves the whole request, even if a reload lands midway.
    const runtime = deps.runtime();
    const target = canonicalTarget(req.url ?? '/', req.headers.host);
    if (!target.ok) {
      logger.info({ requestId, reason: target.reason }, 'request target refused');
      refuse(req, res, invalidRequest(`the request target is refused: ${target.reason}`));
      return;
    }
    // An issuer with a path serves everything under it: the path is removed, and what is routed
    // is still exactly what is proxied.
    const below = runtime.issuerPath.below(target.path);
    const path = below ?? target.path;
    const forwarded =
      below === undefined ? target.target : `${below}${target.query ? `?${target.query}` : ''}`;
    const method = req.method ?? 'GET';
    const isRead = method === 'GET' || method === 'HEAD';

    switch (runtime.routes.classify(path)) {
      case 'token':
        // Every method is scopegate's: some IdPs still hand out tokens on GET, and a preflight
        // forwarded with a body would be a token request scopegate never saw.
        if (method === 'POST') {
          void handleTokenRequest(req, res, { runtime, metrics, logger, requestId });
        } else if (method === 'OPTIONS') {
          answerTokenPreflight(req, res);
        } else {
          methodNotAllowed(req, res, TOKEN_METHODS);
        }
        return;
      case 'beyond_token':
      case 'blocked':
        notServed(req, res);
        return;
      case 'jwks':
        if (!isRead) break;
        req.resume();
        sendJson(res, 200, runtime.signingKeys.jwks(), {
          ...PUBLIC_DOCUMENT_HEADERS,
          'content-type': 'application/jwk-set+json',
        });
        return;
      case 'discovery':
        if (!isRead) {
          methodNotAllowed(req, res, 'GET, HEAD');
          return;
        }
        req.resume();
        void serveDiscovery(res, runtime, logger, requestId);
        return;
      case 'proxy':
        break;
    }
    // The upstream acts on exactly what was classified, never on the bytes the client sent.
    req.url = forwarded;
    // Userinfo and introspection of scopegate's own tokens (the upstream does not know them).
    const served = servedEndpointFor(path, runtime);
    if (served !== undefined) {
      serveEndpoint(req, res, served, target.query, runtime, requestId);
      return;
    }
    const revocation = method === 'POST' ? revocationPathFor(routeKey(path), runtime) : undefined;
    if (revocation !== undefined) {
      void handleRevocation(req, res, revocation, runtime, requestId);
      return;
    }
    const forward = (body?: Buffer) =>
      deps.proxy.forward(
        req,
        res,
        runtime.config.upstream.url,
        runtime.config.upstream.timeout,
        requestId,
        runtime.trustedProxies,
        authorizationResponseRewriteFor(runtime),
        body,
        runtime.upstreamAgents,
      );
    const failed = (error: unknown) => {
      req.resume();
      sendOAuthError(
        res,
        error instanceof OAuthError ? error : invalidRequest('the request could not be checked'),
      );
    };
    // The front channel never hands out the upstream's access token (implicit, hybrid, request
    // objects), on any proxied path: checked in the query, then in a form or JSON body.
    const refusal = frontChannelRefusal(queryParams(target.query));
    if (refusal) {
      logger.info({ requestId, reason: refusal.error }, 'front-channel request refused');
      failed(refusal);
      return;
    }
    const proceed = (body?: Buffer) => {
      if (!carriesIdTokenHint(req.url)) {
        forward(body);
        return;
      }
      // The hint is scopegate's ID token: verified here and translated for the upstream.
      translateIdTokenHint(req.url ?? '/', runtime).then((translated) => {
        req.url = translated;
        forward(body);
      }, failed);
    };
    if (hasInspectableBody(req)) {
      checkedBody(req, runtime.config.server.body_limit).then(proceed, failed);
      return;
    }
    proceed();
  };
}
