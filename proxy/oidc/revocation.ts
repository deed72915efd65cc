/**
 * The upstream's revocation endpoint (RFC 7009), served by scopegate so revocation reaches the
 * upstream: a refresh token scopegate wrapped is opened and the upstream's own token is revoked
 * (with the client's authentication as received); a scopegate access token carrying the
 * upstream's access token has that one revoked the same way; other scopegate access tokens are
 * self-contained and cannot be revoked, so for them the answer is the RFC's 200 without asking
 * the upstream; anything else is passed on unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { compactVerify, createLocalJWKSet } from 'jose';
import { badUpstream, invalidRequest, OAuthError, sendOAuthError } from '../http/oauth-error.js';
import { routeKey } from '../http/route-key.js';
import type { Runtime } from '../runtime.js';
import { rebuiltUpstreamError } from '../token/upstream-error.js';
import { readOwnToken } from './own-token-state.js';
import { refreshKeyOf } from './refresh-step.js';
import { unwrapRefreshToken } from './refresh-token.js';
import { readTokenForm } from './token-form.js';
import { callerAuthorization, callUpstream, unsupportedTokenType } from './upstream-call.js';

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

async function isOwnAccessToken(token: string, runtime: Runtime): Promise<boolean> {
  try {
    const { payload } = await compactVerify(token, createLocalJWKSet(runtime.signingKeys.jwks()));
    const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    return claims.iss === runtime.config.issuer;
  } catch {
    return false;
  }
}

function answerRevoked(res: ServerResponse): void {
  res.writeHead(200, { 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

/**
 * A scopegate access token carrying the upstream's (embedded-upstream-token.ts): the upstream's
 * is revoked with the caller's authentication as received, so userinfo and introspection stop
 * accepting the token at once. The upstream's answer is rebuilt, never passed on, since it is
 * about a token the caller never saw. An upstream that cannot revoke that kind of token
 * (oidc-provider and its JWT access tokens: unsupported_token_type) leaves scopegate's token as
 * self-contained as one without the upstream's: 200, it expires.
 */
async function revokeSealedToken(
  req: IncomingMessage,
  res: ServerResponse,
  sealed: string,
  params: Map<string, string>,
  path: string,
  runtime: Runtime,
  requestId: string,
): Promise<void> {
  const form = new URLSearchParams([...params]);
  form.set('token', sealed);
  form.set('token_type_hint', 'access_token');
  const answer = await callUpstream(
    {
      path,
      method: 'POST',
      headers: { ...callerAuthorization(req.headers.authorization), accept: 'application/json' },
      form,
      requestId,
    },
    runtime,
  );
  if (answer.status === 200) {
    answerRevoked(res);
    return;
  }
  if (unsupportedTokenType(answer)) {
    answerRevoked(res);
    return;
  }
  const rebuilt = rebuiltUpstreamError(answer);
  if (rebuilt.status >= 400 && rebuilt.status < 500 && !rebuilt.description.includes(sealed)) {
    throw rebuilt;
  }
  throw badUpstream(`the upstream revocation endpoint answered ${answer.status}`);
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
    const key = refreshKeyOf(config);
    const binding = key === undefined ? undefined : await unwrapRefreshToken(token, key);
    if (binding !== undefined) {
      body.params.set('token', binding.upstreamToken);
      body.params.set('token_type_hint', 'refresh_token');
    } else if (await isOwnAccessToken(token, runtime)) {
      // Expired or not: the upstream's token inside may outlive it (tokens.max_lifetime).
      const sealed = (await readOwnToken(token, runtime, { acceptExpired: true }))?.upstreamToken;
      if (sealed !== undefined) {
        await revokeSealedToken(req, res, sealed, body.params, path, runtime, requestId);
        return;
      }
      answerRevoked(res);
      return;
    }
    const answer = await callUpstream(
      {
        path,
        method: 'POST',
        headers: { ...callerAuthorization(req.headers.authorization), accept: 'application/json' },
        form: new URLSearchParams([...body.params]),
        requestId,
      },
      runtime,
    );
    const type = answer.headers['content-type'];
    res.writeHead(answer.status, {
      'cache-control': 'no-store',
      'content-length': answer.body.length,
      ...(typeof type === 'string' ? { 'content-type': type } : {}),
    });
    res.end(answer.body);
  } catch (error) {
    sendOAuthError(
      res,
      error instanceof OAuthError ? error : invalidRequest('the revocation request failed'),
    );
  }
}
