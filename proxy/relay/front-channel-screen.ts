/**
 * Everything scopegate relays from the upstream is screened on the way back, whatever the request
 * looked like: the request checks (front-channel.ts) are a first fence, this is the one that
 * holds when an upstream reads a carrier they did not. An upstream access, ID or refresh token
 * (upstream-token-scan.ts) in a response header (Location's query and fragment, Refresh, Link,
 * Content-Location, any other) or in a body ends in an OAuth error, never in the client's hands.
 *
 * Which bodies are held and read, bounded by SCREEN_LIMIT:
 * - every body answering a screened request: one to the upstream's authorization, pushed
 *   authorization or end-session endpoint, or one whose parameters name an authorization or
 *   logout parameter (the gateway decides, `screenedRequest`);
 * - on any other request every body except the types listed in PASSED_UNREAD (static assets,
 *   plain text and octet streams, none of which a browser renders as a page that navigates or
 *   posts). A page, XML, JSON, a form, or a body of no or unknown type is held: IdPs answer
 *   authorization requests from many paths (resume steps, login form handlers), and an endpoint
 *   that answers tokens in JSON is a token endpoint around scopegate.
 * A held body larger than the limit is refused, not passed on: a page scopegate cannot read could
 * be a form_post answer.
 *
 * Set-Cookie values are screened for token names, any JWE and any upstream JWS that carries a
 * bearer claim (an audience, scopes, a client, an ID token's nonce or at_hash): IdPs keep their
 * own signed session state in cookies (Keycloak's KEYCLOAK_IDENTITY is a JWT under the realm's
 * issuer), which carries none of them and which no resource server accepts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { canonicalParamName } from '../http/canonical-param.js';
import { configuredSegments, furthestReach, routeSegments } from '../http/route-key.js';
import type { Runtime } from '../runtime/runtime.js';
import {
  findUpstreamToken,
  findUpstreamTokenInCookie,
  type UpstreamIdentity,
} from './upstream-token-scan.js';

/** Bytes of a response body held for screening, before and after decompression. */
export const SCREEN_LIMIT = 1024 * 1024;

/**
 * Media types relayed unread (streamed) on requests that are not screened: static assets, and
 * streams no browser renders as a document that navigates or posts (plain text, octet streams,
 * server-sent events), which proxied APIs stream as the upstream produces them. Everything else
 * is held. On a screened request nothing is streamed unread. (A plain-text answer to a request
 * that is neither an authorization, PAR or logout request nor names one of their parameters is
 * therefore not read: the one carrier the leak oracle still lists.)
 */
const PASSED_UNREAD =
  /^\s*(?:(?:image|font|audio|video)\/[^;]*|text\/(?:css|javascript|plain|event-stream)|application\/(?:javascript|ecmascript|wasm|octet-stream))\s*(?:;|$)/i;

/** Discovery members naming the endpoints whose answers are authorization or logout responses. */
const SCREENED_ENDPOINTS = [
  'authorization_endpoint',
  'pushed_authorization_request_endpoint',
  'end_session_endpoint',
] as const;

/**
 * Request parameters that make any request an authorization or logout request to a lenient
 * upstream, whatever its path.
 */
const SCREENED_PARAMETERS: ReadonlySet<string> = new Set([
  'response_type',
  'response_mode',
  'request',
  'request_uri',
  'id_token_hint',
  'post_logout_redirect_uri',
]);

/** Whether any of these parameters (in any spelling) makes the request a screened one. */
export function namesScreenedParameter(params: Iterable<readonly [string, unknown]>): boolean {
  for (const [name] of params) if (SCREENED_PARAMETERS.has(canonicalParamName(name))) return true;
  return false;
}

export interface ResponseScreen {
  /** Why these response headers must not reach the client, or undefined. */
  headers(headers: IncomingHttpHeaders): string | undefined;
  /** Why this (decoded) body must not reach the client, or undefined. */
  body(text: string): string | undefined;
  /** Whether a body of this type is held and screened on a request that is not screened. */
  holdsType(contentType: string | undefined): boolean;
  /** Whether a (canonical, issuer-path-free) request path is a screened endpoint's. */
  isScreenedPath(path: string): boolean;
  /** Whether a (canonical, issuer-path-free) request path is the authorization endpoint itself. */
  isAuthorizationPath(path: string): boolean;
}

function headerText(value: string | string[] | number | undefined): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join('\n') : String(value);
}

/** Screens response headers against `identity`. */
export function screenHeaders(
  headers: IncomingHttpHeaders,
  identity: UpstreamIdentity,
): string | undefined {
  for (const [name, value] of Object.entries(headers)) {
    const text = headerText(value);
    if (text === '') continue;
    const why =
      name === 'set-cookie'
        ? findUpstreamTokenInCookie(text, identity)
        : findUpstreamToken(text, identity);
    if (why !== undefined) return `the ${name} header carries ${why}`;
  }
  return undefined;
}

/** The upstream identity as this generation knows it now (discovery and JWKS may arrive later). */
export function upstreamIdentityOf(runtime: Runtime): UpstreamIdentity {
  const issuers = new Set<string>();
  const origins = new Set([new URL(runtime.config.upstream.url).origin]);
  const issuer = runtime.discovery.knownIssuer();
  if (issuer !== undefined) {
    issuers.add(issuer);
    if (URL.canParse(issuer)) origins.add(new URL(issuer).origin);
  }
  return {
    issuers,
    origins,
    kids: runtime.upstreamKeys.knownKids(),
    ownIssuer: runtime.config.issuer,
  };
}

function screenedEndpointSegments(
  runtime: Runtime,
  members: readonly string[] = SCREENED_ENDPOINTS,
): string[][] {
  const document = runtime.discovery.knownDocument();
  if (document === undefined) return [];
  const upstream = new URL(runtime.config.upstream.url);
  const found: string[][] = [];
  for (const member of members) {
    const value = document[member];
    if (typeof value !== 'string' || !URL.canParse(value)) continue;
    const url = new URL(value);
    if (url.origin !== upstream.origin) continue;
    try {
      found.push(configuredSegments(url.pathname));
    } catch {
      // A path without a canonical form can never be requested.
    }
  }
  return found;
}

const screens = new WeakMap<Runtime, ResponseScreen>();

/** The screen for responses proxied under one configuration generation. */
export function responseScreenFor(runtime: Runtime): ResponseScreen {
  let screen = screens.get(runtime);
  if (screen !== undefined) return screen;
  const base = routeSegments(new URL(runtime.config.upstream.url).pathname);
  // Built again only when what it is built from changes (the issuer from discovery, the kids of
  // the last JWKS fetch), not for every proxied response.
  let known: { issuer: string | undefined; kids: ReadonlySet<string>; identity: UpstreamIdentity };
  const identity = (): UpstreamIdentity => {
    const issuer = runtime.discovery.knownIssuer();
    const kids = runtime.upstreamKeys.knownKids();
    if (known?.issuer !== issuer || known.kids !== kids) {
      known = { issuer, kids, identity: upstreamIdentityOf(runtime) };
    }
    return known.identity;
  };
  screen = {
    headers: (headers) => screenHeaders(headers, identity()),
    body: (text) => findUpstreamToken(text, identity()),
    holdsType: (contentType) => contentType === undefined || !PASSED_UNREAD.test(contentType),
    isScreenedPath: (path) => {
      const own = routeSegments(path);
      const candidates = base.length === 0 ? [own] : [own, [...base, ...own]];
      return screenedEndpointSegments(runtime).some(
        (endpoint) => furthestReach(candidates, endpoint) !== 'none',
      );
    },
    isAuthorizationPath: (path) => {
      const own = routeSegments(path);
      const candidates = base.length === 0 ? [own] : [own, [...base, ...own]];
      return screenedEndpointSegments(runtime, ['authorization_endpoint']).some(
        (endpoint) => furthestReach(candidates, endpoint) === 'exact',
      );
    },
  };
  screens.set(runtime, screen);
  return screen;
}
