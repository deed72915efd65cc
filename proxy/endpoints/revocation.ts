/**
 * The upstream's revocation endpoint (RFC 7009), served by scopegate so revocation reaches the
 * upstream and scopegate's own tokens can be revoked:
 * - a refresh token scopegate wrapped is opened and the upstream's own token is revoked (with the
 *   client's authentication as received);
 * - a scopegate access token is remembered as revoked (revoked-tokens.ts: userinfo,
 *   introspection and token exchange refuse it and every token exchanged from it), and the
 *   upstream's access token sealed inside it, when there is one, is revoked at the upstream;
 * - anything else is passed on to the upstream as received.
 *
 * Client binding (RFC 7009 §2.1): a token scopegate knows the client of (the wrapped refresh
 * token's binding, the access token's `client_id`) is revoked only for that client. The caller
 * names itself (HTTP Basic, `client_id` in the form, or a client assertion's `sub`: one name);
 * the upstream, which holds the client registrations, authenticates it, with every call
 * scopegate makes here. A caller that is not the token's client is authenticated with a token
 * nobody issued (the upstream answers 200 for it), and gets RFC 7009's 200 with nothing revoked.
 *
 * Answers are scopegate's, never the upstream's: 200 with an empty body, or an error from a fixed
 * table (upstream-refusal.ts), since the upstream is given tokens the client must never see.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import type { TokenRequestBody } from '../http/body.js';
import {
  ClientAuthenticationFailed,
  invalidRequest,
  OAuthError,
  sendOAuthError,
} from '../http/oauth-error.js';
import { routeKey } from '../http/route-key.js';
import { unwrapRefreshToken } from '../issued/refresh-token.js';
import { revocationRefsOf } from '../issued/revocation-refs.js';
import type { Runtime } from '../runtime/runtime.js';
import type { UpstreamResponse } from '../upstream/http-client.js';
import { claimsOwnIssuer, readOwnToken } from './own-token-state.js';
import { authenticateClient } from './token/client-auth/authenticate-client.js';
import type { AuthenticatedClient } from './token/client-auth/authenticated-client.js';
import { callerCall } from './token/client-auth/upstream-credentials.js';
import { refreshKeyOf } from './token/refresh-step.js';
import { basicCredentials, namedClient } from './token/token-request.js';
import { readTokenForm } from './token-form.js';
import { callUpstream, unsupportedTokenType } from './upstream-calls/upstream-call.js';
import { upstreamRefusal } from './upstream-calls/upstream-refusal.js';

/**
 * The upstream revocation endpoint's path when `route` (a request's route key) leads to it, as
 * sent or appended to `upstream.url`'s base path. Known once the upstream's document was fetched
 * (at start-up, with the upstream's keys).
 */
export function revocationPathFor(route: string, runtime: Runtime): string | undefined {
  const endpoint = runtime.discovery.knownDocument()?.revocation_endpoint;
  if (typeof endpoint !== 'string' || !URL.canParse(endpoint)) return undefined;
  const path = new URL(endpoint).pathname;
  const key = routeKey(path);
  const base = new URL(runtime.config.upstream.url).pathname.replace(/\/+$/, '');
  if (key === route || (base !== '' && key === routeKey(`${base}${route}`))) return path;
  return undefined;
}

/** RFC 7009 §2.2: the token was revoked, or was not a token to revoke. Nothing else is said. */
function answerRevoked(res: ServerResponse): void {
  res.writeHead(200, { 'cache-control': 'no-store', pragma: 'no-cache', 'content-length': 0 });
  res.end();
}

/** One revocation request, as received. */
interface Revocation {
  req: IncomingMessage;
  body: TokenRequestBody;
  path: string;
  runtime: Runtime;
  requestId: string;
  /**
   * The client the caller names itself (not yet authenticated: the upstream does that), or, for
   * a client scopegate authenticated, its id at the upstream.
   */
  caller: string;
  /** The client scopegate authenticated (clients[].token_endpoint_auth_method), if any. */
  client: AuthenticatedClient | undefined;
}

/**
 * Sends the upstream the request with `token` (and its hint) replaced, the caller's own
 * authentication unchanged (or scopegate's credentials for a client it authenticated).
 */
function forward(
  revocation: Revocation,
  token: string,
  hint: 'access_token' | 'refresh_token' | undefined,
): Promise<UpstreamResponse> {
  const { form, headers } = callerCall(
    revocation.body.params,
    revocation.req.headers.authorization,
    revocation.client,
    revocation.runtime,
  );
  form.set('token', token);
  if (hint === undefined) form.delete('token_type_hint');
  else form.set('token_type_hint', hint);
  return callUpstream(
    {
      path: revocation.path,
      method: 'POST',
      headers: { ...headers, accept: 'application/json' },
      form,
      requestId: revocation.requestId,
    },
    revocation.runtime,
  );
}

function usedBasic(revocation: Revocation): boolean {
  return basicCredentials(revocation.req.headers.authorization) !== undefined;
}

/** Throws the client's error unless the upstream accepted the call (200). */
function requireAccepted(answer: UpstreamResponse, revocation: Revocation): void {
  if (answer.status !== 200) throw upstreamRefusal(answer, 'revocation', usedBasic(revocation));
}

/**
 * Has the upstream authenticate the caller without revoking anything: a revocation of a token
 * no upstream issued, which RFC 7009 §2.2 answers 200 once the client is authenticated.
 */
async function authenticateCaller(revocation: Revocation): Promise<void> {
  const nobodys = randomBytes(32).toString('base64url');
  requireAccepted(await forward(revocation, nobodys, undefined), revocation);
}

/** The client a verified scopegate access token was issued to. */
function clientOf(claims: JWTPayload): string | undefined {
  return typeof claims.client_id === 'string' && claims.client_id !== ''
    ? claims.client_id
    : undefined;
}

async function revokeOwnAccessToken(
  revocation: Revocation,
  claims: JWTPayload,
  sealed: string | undefined,
): Promise<void> {
  if (sealed === undefined) {
    await authenticateCaller(revocation);
  } else {
    // The upstream's token inside: revoked too, so the upstream refuses it wherever it is used.
    // An upstream that cannot revoke its kind (oidc-provider's JWT access tokens:
    // unsupported_token_type) has authenticated the caller all the same.
    const answer = await forward(revocation, sealed, 'access_token');
    if (!unsupportedTokenType(answer)) requireAccepted(answer, revocation);
  }
  const exp = typeof claims.exp === 'number' ? claims.exp : 0;
  // Its own jti only: the tokens it was exchanged from stay good, those exchanged from it do not.
  const [ref] = revocationRefsOf(claims);
  if (ref !== undefined) await revocation.runtime.revokedTokens.revoke(ref, exp);
}

async function revoke(revocation: Revocation, token: string): Promise<void> {
  const { runtime, caller } = revocation;
  const key = refreshKeyOf(runtime.config);
  const binding = key === undefined ? undefined : await unwrapRefreshToken(token, key);
  if (binding !== undefined) {
    if (binding.clientId !== caller) {
      await authenticateCaller(revocation);
      return;
    }
    requireAccepted(await forward(revocation, binding.upstreamToken, 'refresh_token'), revocation);
    return;
  }
  if (claimsOwnIssuer(token, runtime)) {
    // Expired or not: the upstream's token inside may outlive it (tokens.max_lifetime).
    const own = await readOwnToken(token, runtime, { acceptExpired: true, acceptRevoked: true });
    if (own === undefined || clientOf(own.claims) !== caller) {
      // Not scopegate's after all (forged, altered), or another client's: nothing to revoke.
      await authenticateCaller(revocation);
      return;
    }
    await revokeOwnAccessToken(revocation, own.claims, own.upstreamToken);
    return;
  }
  // Not a token scopegate issued: the upstream's business, as received.
  const hint = revocation.body.params.get('token_type_hint');
  const answer = await forward(
    revocation,
    token,
    hint === 'access_token' || hint === 'refresh_token' ? hint : undefined,
  );
  requireAccepted(answer, revocation);
}

export async function handleRevocation(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  runtime: Runtime,
  requestId: string,
): Promise<void> {
  const { config } = runtime;
  try {
    const { body, token } = await readTokenForm(req, config.server.body_limit, 'revocation');
    // RFC 7009 §2.1: the client authenticates (or, public, names itself with client_id).
    const client = await authenticateClient(req, body.params, runtime);
    const caller = client?.upstreamClientId ?? namedClient(body.params, req.headers.authorization);
    if (caller === undefined) throw new ClientAuthenticationFailed(false);
    await revoke({ req, body, path, runtime, requestId, caller, client }, token);
    answerRevoked(res);
  } catch (error) {
    req.resume();
    sendOAuthError(
      res,
      error instanceof OAuthError ? error : invalidRequest('the revocation request failed'),
    );
  }
}
