/**
 * Step "forward", with the upstream token cache in front of it for the requests that may use it:
 * client-credentials grants authenticated with a client secret, for a client whose rule sets
 * `cache: true`. The cached thing is the upstream's verified answer; the caller still verifies
 * it (cheap: the verified-token cache) and signs a fresh, narrowed token for every request.
 *
 * Concurrent identical misses share one upstream call. Only a 200 whose token then verifies is
 * kept, and only by the request that made the call: errors are never cached.
 */
import type { IncomingMessage } from 'node:http';
import type { JWTPayload } from 'jose';
import { parseUntrustedObject } from '../../http/untrusted-json.js';
import { clientRuleFor } from '../../issued/client-rule.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { UpstreamResponse } from '../../upstream/http-client.js';
import { readerRulesOf } from '../../upstream/token-cache/cache-entry.js';
import type { UpstreamTokenCache } from '../../upstream/token-cache/upstream-token-cache.js';
import { hasUpstreamCredentials } from './client-auth/upstream-credentials.js';
import { forwardTokenRequest, upstreamParams } from './forward-upstream.js';
import type { TokenRequest } from './token-request.js';

export interface TokenExchange {
  upstream: UpstreamResponse;
  /** Call with the verified upstream claims: keeps the answer when this request fetched it. */
  verified(claims: JWTPayload): Promise<void>;
  /**
   * Call when the request is over (in a `finally`): an answer this request fetched and did not
   * keep (refused by the upstream, not verified, not replayable) releases its key, so that other
   * workers waiting for it (a lease at the primary) ask the upstream themselves at once instead
   * of when the lease runs out.
   */
  settled(): void;
}

const CACHED_HEADERS = { 'content-type': 'application/json' };
/** Upstream answer members that belong to one client session and must never be replayed. */
const SESSION_MEMBERS = ['refresh_token', 'id_token'];

const NOTHING_TO_KEEP = async () => {};
const NOTHING_HELD = () => {};

/** Single-flight per cache: key → the one upstream call in progress for it. */
const inFlight = new WeakMap<UpstreamTokenCache, Map<string, Promise<UpstreamResponse>>>();

function cacheRuleAllows(runtime: Runtime, request: TokenRequest): boolean {
  return clientRuleFor(runtime.config, request.clientIdHint, request.audiences)?.cache === true;
}

/**
 * Only secret-authenticated client credentials, or a client scopegate authenticated itself (its
 * upstream credentials are scopegate's, the same for every request): a client's own assertion is
 * single-use by design.
 */
function authenticatesWithSecret(req: IncomingMessage, request: TokenRequest): boolean {
  if (hasUpstreamCredentials(request.client)) return true;
  const params = request.body.params;
  if (params.has('client_assertion')) return false;
  if (params.has('client_secret')) return true;
  return req.headers.authorization?.toLowerCase().startsWith('basic ') === true;
}

/** Bumped whenever what an entry means changes: entries of an older scopegate are never found. */
const KEY_FORMAT = 'upstream-token v2';

/**
 * Everything the upstream's answer depends on: where it goes, the client's credentials (Basic
 * header or body) and every parameter as the upstream would receive it, in a canonical order. For
 * a client scopegate authenticated, the client it authenticated instead of credentials: what it
 * presented (a single-use assertion) is no part of the question, and scopegate's credentials for
 * it (a fresh assertion per call) are the same client's.
 * And what the reader accepts an answer by (the upstream issuer, keys, algorithms, token format,
 * introspection client): a replica configured otherwise neither finds nor overwrites these
 * entries. The reader verifies and narrows every kept answer again under its own configuration
 * all the same (token-endpoint.ts); this keeps a differently configured writer from turning that
 * check into an error for the client instead of a fresh answer.
 */
function keyMaterial(req: IncomingMessage, request: TokenRequest, runtime: Runtime): string {
  const { upstream } = runtime.config;
  const params = upstreamParams(request, runtime);
  const credentials = hasUpstreamCredentials(request.client)
    ? ['authenticated client', request.client?.clientId ?? null]
    : (req.headers.authorization ?? null);
  return JSON.stringify([
    KEY_FORMAT,
    [
      runtime.discovery.knownIssuer() ?? null,
      upstream.jwks_uri ?? null,
      upstream.algorithms,
      upstream.token_format,
      upstream.introspection?.endpoint ?? null,
      upstream.introspection?.client_id ?? null,
    ],
    upstream.url,
    runtime.tokenPath,
    credentials,
    [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    request.body.resources,
  ]);
}

function replayable(body: Buffer): boolean {
  try {
    const parsed = parseUntrustedObject(body.toString('utf8'));
    if (parsed === undefined) return false;
    return !SESSION_MEMBERS.some((member) => Object.hasOwn(parsed, member));
  } catch {
    return false;
  }
}

/**
 * Lets other workers waiting for `key` ask the upstream themselves. Best effort: should the
 * release itself fail, their lease runs out (upstream.timeout and a second) instead.
 */
function releaseKey(cache: UpstreamTokenCache, key: string): void {
  cache.abandon(key).catch(() => undefined);
}

export async function forwardOrReuse(
  req: IncomingMessage,
  request: TokenRequest,
  runtime: Runtime,
  requestId: string,
  metrics?: Metrics,
): Promise<TokenExchange> {
  const cache = runtime.tokenCache;
  if (
    cache === undefined ||
    request.grantType !== 'client_credentials' ||
    !authenticatesWithSecret(req, request) ||
    !cacheRuleAllows(runtime, request)
  ) {
    const upstream = await forwardTokenRequest(req, request, runtime, requestId, metrics);
    return { upstream, verified: NOTHING_TO_KEEP, settled: NOTHING_HELD };
  }
  const key = cache.keyFor(keyMaterial(req, request, runtime));
  // The rules of this request's configuration generation, whoever wrote the entry.
  const rules = readerRulesOf(runtime.config);
  const kept = await cache.get(key, rules);
  if (kept) {
    metrics?.cacheHits.inc({ cache: 'upstream_token' });
    metrics?.upstreamCallsSaved.inc();
    return {
      upstream: { status: 200, headers: CACHED_HEADERS, body: kept },
      verified: NOTHING_TO_KEEP,
      settled: NOTHING_HELD,
    };
  }
  metrics?.cacheMisses.inc({ cache: 'upstream_token' });

  let calls = inFlight.get(cache);
  if (!calls) {
    calls = new Map();
    inFlight.set(cache, calls);
  }
  const pending = calls.get(key);
  if (pending) {
    // Another request is already asking the upstream the same question: share its answer.
    metrics?.upstreamCallsSaved.inc();
    return { upstream: await pending, verified: NOTHING_TO_KEEP, settled: NOTHING_HELD };
  }
  const call = forwardTokenRequest(req, request, runtime, requestId, metrics);
  const active = calls;
  active.set(key, call);
  // The call stays shared until its answer is kept (or known not to be), not only until it
  // arrives: a request of this process whose cache lookup missed while the answer was being
  // verified would otherwise ask the upstream again. With workers the lookup is a round trip to
  // the primary, and that window showed as a second upstream call from a cold start.
  const finish = () => {
    if (active.get(key) === call) active.delete(key);
  };
  let upstream: UpstreamResponse;
  try {
    upstream = await call;
  } catch (error) {
    finish();
    releaseKey(cache, key);
    throw error;
  }
  let stored = false;
  return {
    upstream,
    verified: async (claims) => {
      try {
        if (upstream.status !== 200 || typeof claims.exp !== 'number') return;
        if (!replayable(upstream.body)) return;
        stored = await cache.put(key, upstream.body, claims.exp, rules);
      } finally {
        finish();
      }
    },
    settled: () => {
      finish();
      if (!stored) releaseKey(cache, key);
    },
  };
}
