/**
 * The public listener's router: the token endpoint, scopegate's JWKS and discovery documents,
 * the upstream endpoints scopegate answers for its own tokens (userinfo, introspection,
 * revocation), and the reverse proxy for everything else.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleIntrospection } from '../endpoints/introspection.js';
import { handlePushedAuthorization } from '../endpoints/par/par-endpoint.js';
import { pushedAuthorizationQuery } from '../endpoints/par/pushed-authorization.js';
import { answerTokenPreflight, TOKEN_METHODS } from '../endpoints/preflight.js';
import { handleRevocation, revocationPathFor } from '../endpoints/revocation.js';
import { type EndpointMatch, servedEndpointFor } from '../endpoints/served-endpoints.js';
import { handleTokenRequest } from '../endpoints/token/token-endpoint.js';
import { handleUserinfo } from '../endpoints/userinfo.js';
import { readBody } from '../http/body.js';
import { frontChannelRefusal, queryParams } from '../http/front-channel.js';
import { publicHostOf, requestIdFor } from '../http/headers.js';
import {
  bodyCarrier,
  bodyParams,
  encodingRefusal,
  hasRequestBody,
} from '../http/inspected-body.js';
import {
  invalidRequest,
  OAuthError,
  sendJson,
  sendOAuthError,
  unavailable,
} from '../http/oauth-error.js';
import { canonicalTarget } from '../http/request-target.js';
import { routeKey } from '../http/route-key.js';
import { anyProfile } from '../issued/client-profile.js';
import { advertiseTokenExchange } from '../issued/discovery-grant.js';
import { metadataContextOf, publicMetadata } from '../issued/public-metadata.js';
import { AccessLog } from '../observability/access-log.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import {
  endRequestSpan,
  type RequestSpan,
  startRequestSpan,
  withinSpan,
} from '../observability/tracing.js';
import { authorizationResponseRewriteFor } from '../relay/authorization-response.js';
import { namesScreenedParameter, responseScreenFor } from '../relay/front-channel-screen.js';
import {
  namesIdTokenHint,
  type ReadRequestBody,
  translateIdTokenHint,
} from '../relay/id-token-hint.js';
import type { ReverseProxy } from '../relay/reverse-proxy.js';
import { PUSHED_AUTHORIZATION_PATH } from '../rules/security-profile.js';
import type { Runtime } from '../runtime/runtime.js';

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
    // Token exchange is served by scopegate itself: advertised when enabled (proxy/endpoints/token/exchange/).
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

/**
 * A client certificate header from a peer that is not a trusted proxy is neither read nor
 * forwarded (proxy/http/client-certificate.ts, headers.ts); said at debug level, since a
 * misconfigured server.trusted_proxies looks exactly like this.
 */
function logIgnoredCertificateHeader(
  req: IncomingMessage,
  runtime: Runtime,
  logger: Logger,
  requestId: string,
): void {
  const header = runtime.config.server.client_certificate_header?.name;
  if (header === undefined || req.headers[header] === undefined) return;
  if (runtime.trustedProxies.trusts(req.socket.remoteAddress)) return;
  logger.debug(
    { requestId, header, peer: req.socket.remoteAddress },
    'client certificate header from a peer that is not a trusted proxy: ignored',
  );
}

export function createGatewayHandler(deps: GatewayDeps) {
  const { metrics, logger } = deps;
  // Bound once: a labelled inc/dec hashes its labels object on every call.
  const inFlight = metrics.inFlight.labels({ listener: 'public' });
  const finished = () => inFlight.dec();
  const accessLog = new AccessLog(logger, metrics);
  const handle = (req: IncomingMessage, res: ServerResponse, span: RequestSpan | undefined) => {
    inFlight.inc();
    res.on('close', finished);
    const requestId = requestIdFor(req, randomUUID);
    res.setHeader('x-request-id', requestId);
    // One generation serves the whole request, even if a reload lands midway.
    const runtime = deps.runtime();
    // Every request writes one access line when its response closes; each branch names its route.
    const access = accessLog.begin(res, requestId, runtime.config.log.access.sample_proxied);
    // The server span is named by the route class each branch sets, once the answer is done.
    if (span !== undefined) {
      res.once('close', () => endRequestSpan(span, req.method ?? 'GET', access.route, res));
    }
    logIgnoredCertificateHeader(req, runtime, logger, requestId);
    const target = canonicalTarget(req.url ?? '/', req.headers.host);
    if (!target.ok) {
      access.route = 'refused';
      logger.info({ requestId, reason: target.reason }, 'request target refused');
      refuse(req, res, invalidRequest(`the request target is refused: ${target.reason}`));
      return;
    }
    access.path = target.path;
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
        access.route = 'token';
        // Every method is scopegate's: some IdPs still hand out tokens on GET, and a preflight
        // forwarded with a body would be a token request scopegate never saw.
        if (method === 'POST') {
          access.awaitingToken = true;
          void handleTokenRequest(req, res, { runtime, metrics, logger, requestId });
        } else if (method === 'OPTIONS') {
          answerTokenPreflight(req, res);
        } else {
          methodNotAllowed(req, res, TOKEN_METHODS);
        }
        return;
      case 'beyond_token':
      case 'blocked':
        access.route = 'not_served';
        notServed(req, res);
        return;
      case 'jwks':
        if (!isRead) break;
        access.route = 'jwks';
        req.resume();
        sendJson(res, 200, runtime.signingKeys.jwks(), {
          ...PUBLIC_DOCUMENT_HEADERS,
          'content-type': 'application/jwk-set+json',
        });
        return;
      case 'discovery':
        access.route = 'discovery';
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
    // scopegate's own PAR endpoint, for clients held to a profile (endpoints/par/).
    if (anyProfile(runtime.config) && routeKey(path) === PUSHED_AUTHORIZATION_PATH) {
      access.route = 'pushed_authorization';
      if (method === 'POST') void handlePushedAuthorization(req, res, runtime, logger, requestId);
      else if (method === 'OPTIONS') answerTokenPreflight(req, res, 'POST, OPTIONS');
      else methodNotAllowed(req, res, 'POST');
      return;
    }
    // The upstream acts on exactly what was classified, never on the bytes the client sent.
    req.url = forwarded;
    // Userinfo and introspection of scopegate's own tokens (the upstream does not know them).
    const served = servedEndpointFor(path, runtime);
    if (served !== undefined) {
      access.route = served.reach === 'beyond' ? 'not_served' : served.endpoint;
      serveEndpoint(req, res, served, target.query, runtime, requestId);
      return;
    }
    const revocation = method === 'POST' ? revocationPathFor(routeKey(path), runtime) : undefined;
    if (revocation !== undefined) {
      access.route = 'revocation';
      void handleRevocation(req, res, revocation, runtime, requestId);
      return;
    }
    const screen = responseScreenFor(runtime);
    const failed = (error: unknown) => {
      req.resume();
      sendOAuthError(
        res,
        error instanceof OAuthError ? error : invalidRequest('the request could not be checked'),
      );
    };
    // First fence: the front channel never hands out the upstream's tokens (implicit, hybrid,
    // request objects), on any proxied path, whatever carries the parameters. The answer is
    // screened again on its way back (front-channel-screen.ts), whatever the request looked like.
    const query = queryParams(target.query);
    const refusal = frontChannelRefusal(query);
    if (refusal) {
      logger.info({ requestId, reason: refusal.error }, 'front-channel request refused');
      failed(refusal);
      return;
    }
    const screenedPath = screen.isScreenedPath(path);
    const profiled = anyProfile(runtime.config);
    let screenedRequest = screenedPath || namesScreenedParameter(query);
    const forward = (body?: Buffer) =>
      deps.proxy.forward(
        req,
        res,
        {
          target: runtime.config.upstream.url,
          timeoutMs: runtime.config.upstream.timeout,
          requestId,
          trusted: runtime.trustedProxies,
          publicHost: publicHostOf(runtime.config.issuer),
          rewrite: authorizationResponseRewriteFor(runtime),
          screen,
          screenedRequest,
        },
        body,
        runtime.upstreamAgents,
      );
    const proceed = (body?: ReadRequestBody) => {
      if (profiled && runtime.discovery.knownDocument() === undefined) {
        // Which path is the authorization endpoint is known from discovery: never guessed.
        runtime.discovery.document().then(
          () => proceed(body),
          () => failed(unavailable('the upstream discovery document is unavailable')),
        );
        return;
      }
      if (profiled && screen.isAuthorizationPath(path)) {
        // Clients held to a profile: only a pushed request, whose query replaces the browser's.
        pushedAuthorizationQuery(query, body?.params ?? [], runtime).then((held) => {
          if (held === undefined) {
            proceedUnheld(body);
            return;
          }
          req.url = `${forwarded.split('?')[0]}?${new URLSearchParams(held).toString()}`;
          forward(body?.bytes);
        }, failed);
        return;
      }
      proceedUnheld(body);
    };
    const proceedUnheld = (body?: ReadRequestBody) => {
      if (!namesIdTokenHint(query) && !namesIdTokenHint(body?.params ?? [])) {
        forward(body?.bytes);
        return;
      }
      // The hint is scopegate's ID token: verified here and translated for the upstream.
      translateIdTokenHint(req.url ?? '/', body, runtime).then((translated) => {
        req.url = translated.url;
        forward(translated.body ?? body?.bytes);
      }, failed);
    };
    if (!hasRequestBody(req)) {
      proceed();
      return;
    }
    const contentType = req.headers['content-type'];
    const carrier = bodyCarrier(contentType);
    // A body of a type scopegate does not read streams through, unless the request is screened;
    // so does one without a type (uploads), which only a guessing server reads parameters from:
    // on a screened request it is read every way, elsewhere the answer is screened on its way back.
    if ((carrier === undefined || carrier === 'untyped') && !screenedRequest) {
      proceed();
      return;
    }
    readBody(req, runtime.config.server.body_limit)
      .then((bytes) => {
        if (carrier === undefined) {
          throw invalidRequest('the request body is in a format that cannot be checked');
        }
        const unreadable = encodingRefusal(req);
        if (unreadable) throw unreadable;
        const params = bodyParams(carrier, contentType, bytes);
        if (params instanceof OAuthError) throw params;
        const bodyRefusal = frontChannelRefusal(params);
        if (bodyRefusal) {
          logger.info({ requestId, reason: bodyRefusal.error }, 'front-channel request refused');
          throw bodyRefusal;
        }
        if (namesScreenedParameter(params)) screenedRequest = true;
        proceed({ carrier, bytes, params });
      })
      .catch(failed);
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    // Tracing off: no span, no context; on: everything the request starts runs under its span.
    const span = startRequestSpan(req);
    if (span === undefined) handle(req, res, undefined);
    else withinSpan(span, () => handle(req, res, span));
  };
}
