/**
 * The upstream's userinfo endpoint (OpenID Connect Core §5.3), served by scopegate for its own
 * access tokens: the bearer token is verified with scopegate's published keys and issuer, the
 * upstream's access token sealed inside it (embedded-upstream-token.ts) is opened and sent to the
 * upstream as the bearer. Nothing reaches the upstream for a token that fails any of this.
 *
 * The answer is scopegate's, built from an allowlist: `sub` (which must be the token's, else
 * 502) and the identity claims the token's ISSUED scopes release (identity-claims.ts, the same
 * definition the ID token uses). The sealed upstream token was never narrowed, so the upstream
 * answers for every scope it granted; relaying that would undo narrowing, `drop`, policies and
 * narrower refreshes (OpenID Connect Core §5.4 ties claims to scopes).
 *
 * Only scopegate's tokens are accepted, not the upstream's own: the clients of this endpoint are
 * clients of scopegate, which hold scopegate's tokens only (no route hands them the upstream's).
 * An upstream token arriving here was obtained around scopegate or leaked; relaying it would make
 * scopegate's endpoint answer for tokens it never narrowed and cannot revoke, and would make
 * what a token means here depend on who issued it. Refusing keeps one kind of token per endpoint
 * and fails closed; whoever holds an upstream token can still ask the upstream directly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors, type JWTPayload } from 'jose';
import { badUpstream, internalError, OAuthError, sendOAuthError } from '../http/oauth-error.js';
import { parseUntrustedJson, refusedJsonPhrase } from '../http/untrusted-json.js';
import { confirmationOf } from '../issued/confirmation.js';
import { embeddingKeyOf, openEmbeddedToken } from '../issued/embedded-upstream-token.js';
import { verifyOwnToken } from '../issued/own-token.js';
import { advertisedEndpointUrl } from '../issued/public-metadata.js';
import { safeSuccessHeaders } from '../issued/upstream-headers.js';
import { type ConfiguredIdentityClaims, releasedIdentityClaims } from '../rules/identity-claims.js';
import type { Runtime } from '../runtime/runtime.js';
import { tokenScopes } from '../upstream/identity.js';
import { decodedUpstreamBody } from '../upstream/upstream-body.js';
import { bearerError, type PresentedToken, presentedTokenOf, refuseQueryToken } from './bearer.js';
import { certificateOf, checkBoundCertificate } from './certificate-check.js';
import { checkDpopProof, dpopError, dpopNonceHeader } from './dpop-check.js';
import { claimsOwnIssuer } from './own-token-state.js';
import { callUpstream } from './upstream-calls/upstream-call.js';

/** What failed, in words a client may see (never the token, never key material). */
const JOSE_REASONS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'the token has expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'the signature does not verify',
  ERR_JWKS_NO_MATCHING_KEY: 'the token is not signed by a key of this issuer',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'the token is not signed by a key of this issuer',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'a claim check failed',
  ERR_JOSE_ALG_NOT_ALLOWED: 'the algorithm is not allowed',
  // Revoked at scopegate's revocation endpoint (verifyOwnToken checks it).
  ERR_SCOPEGATE_TOKEN_REVOKED: 'the token has been revoked',
};

const invalidToken = (description: string) => bearerError('invalid_token', description);

/** What userinfo needs of a valid scopegate access token. */
interface UserinfoGrant {
  /** The upstream's access token sealed inside. */
  upstream: string;
  sub: unknown;
  /** The scopes scopegate issued in the token: what decides the claims answered. */
  scopes: string[];
  /** The token's verified claims (its binding). */
  claims: JWTPayload;
}

/** The upstream's token inside a valid scopegate access token, or the 401 saying why not. */
async function userinfoGrantFor(token: string, runtime: Runtime): Promise<UserinfoGrant> {
  if (!claimsOwnIssuer(token, runtime)) {
    throw invalidToken('the token was not issued by this issuer');
  }
  let claims: Awaited<ReturnType<typeof verifyOwnToken>>;
  try {
    claims = await verifyOwnToken(token, runtime);
  } catch (error) {
    if (error instanceof errors.JOSEError) {
      throw invalidToken(JOSE_REASONS[error.code] ?? 'the token is not valid');
    }
    throw error;
  }
  const key = embeddingKeyOf(runtime.config);
  const upstream = key === undefined ? undefined : await openEmbeddedToken(claims, key);
  if (upstream === undefined) {
    throw invalidToken(
      'this token cannot be used at the userinfo endpoint: it was issued without the openid scope or before userinfo was enabled',
    );
  }
  return { upstream, sub: claims.sub, scopes: tokenScopes(claims), claims };
}

/**
 * RFC 9449 §7: a DPoP-bound token only in the DPoP scheme with a proof by its key for this
 * request; any other never in the DPoP scheme. RFC 8705 §3: a certificate-bound token (Bearer)
 * only from a connection presenting that certificate. A binding scopegate cannot check (an
 * unknown `cnf`) is refused: accepted, the token would be a bearer token.
 */
async function checkSenderBinding(
  req: IncomingMessage,
  presented: PresentedToken,
  claims: JWTPayload,
  url: string,
  runtime: Runtime,
): Promise<void> {
  const { config } = runtime;
  const binding = confirmationOf(claims);
  if (binding.kind === 'unknown') {
    throw invalidToken('the token is bound in a way this endpoint cannot check');
  }
  const confirmation = binding.kind === 'bound' ? binding.confirmation : {};
  const { jkt, 'x5t#S256': x5t } = confirmation;
  if (x5t !== undefined) {
    checkBoundCertificate(certificateOf(req, runtime), x5t, 'resource', 'the token');
  }
  if (jkt === undefined) {
    if (presented.scheme === 'DPoP') {
      throw dpopError('resource', 'invalid_token', 'the token is not bound to a DPoP key', config);
    }
    return;
  }
  if (presented.scheme !== 'DPoP') {
    throw dpopError(
      'resource',
      'invalid_token',
      'the token is bound to a DPoP key: present it with the DPoP scheme and a proof',
      config,
    );
  }
  const proof = await checkDpopProof(req, runtime, 'resource', {
    url,
    accessToken: presented.token,
  });
  if (proof === undefined) {
    throw dpopError('resource', 'invalid_dpop_proof', 'a DPoP proof is required', config);
  }
  if (proof.jkt !== jkt) {
    throw dpopError(
      'resource',
      'invalid_dpop_proof',
      'the proof key is not the one the token is bound to',
      config,
    );
  }
}

/** The upstream's refusal, rebuilt: its status class, scopegate's words, nothing passed raw. */
function refusedUpstream(status: number): OAuthError {
  if (status === 401) return invalidToken('the upstream no longer accepts this token');
  if (status === 403) {
    return bearerError('insufficient_scope', 'the upstream refuses this token at userinfo');
  }
  if (status === 429 || status === 503) {
    return new OAuthError('temporarily_unavailable', 'the upstream userinfo endpoint is busy', 503);
  }
  return badUpstream(`the upstream userinfo endpoint answered ${status}`);
}

/** The upstream's answer, read as untrusted JSON: an object, or the 502 saying why not. */
function upstreamClaims(answer: Awaited<ReturnType<typeof callUpstream>>): Record<string, unknown> {
  const type = String(answer.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  // A signed (or encrypted) answer is the upstream's JWT, with its issuer and keys, which clients
  // of scopegate's issuer refuse: not offered (discovery drops userinfo_signing_alg_values_*).
  if (type !== 'application/json') {
    throw badUpstream('the upstream userinfo answer is not JSON (signed answers are not offered)');
  }
  let body: unknown;
  try {
    body = parseUntrustedJson(decodedUpstreamBody(answer.headers, answer.body));
  } catch (error) {
    throw badUpstream(`the upstream userinfo answer ${refusedJsonPhrase(error)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badUpstream('the upstream userinfo answer is not a JSON object');
  }
  return body as Record<string, unknown>;
}

/** scopegate's answer: `sub`, then what the issued scopes release of the upstream's claims. */
export function userinfoAnswer(
  claims: Readonly<Record<string, unknown>>,
  grant: Pick<UserinfoGrant, 'sub' | 'scopes'>,
  identityClaims: ConfiguredIdentityClaims,
): Record<string, unknown> {
  // OpenID Connect Core §5.3.2: the answer is about the token's subject, or it is not used.
  if (typeof grant.sub !== 'string' || claims.sub !== grant.sub) {
    throw badUpstream('the upstream userinfo answer is for another subject');
  }
  const answer: Record<string, unknown> = Object.create(null);
  answer.sub = grant.sub;
  for (const [name, value] of Object.entries(
    releasedIdentityClaims(claims, grant.scopes, identityClaims),
  )) {
    // The configuration cannot list `sub`; it still never comes from the upstream's answer.
    if (name !== 'sub') answer[name] = value;
  }
  return answer;
}

export async function handleUserinfo(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: string,
  runtime: Runtime,
  requestId: string,
): Promise<void> {
  try {
    refuseQueryToken(query);
    const presented = await presentedTokenOf(req, runtime.config.server.body_limit);
    const grant = await userinfoGrantFor(presented.token, runtime);
    const url = advertisedEndpointUrl(path, runtime.config.issuer, runtime.config.upstream.url);
    if (url === undefined) throw internalError('the userinfo endpoint has no URL of its own');
    await checkSenderBinding(req, presented, grant.claims, url, runtime);
    const origin = req.headers.origin;
    const answer = await callUpstream(
      {
        path,
        method: 'GET',
        headers: {
          authorization: `Bearer ${grant.upstream}`,
          accept: 'application/json',
          ...(typeof origin === 'string' ? { origin } : {}),
        },
        requestId,
      },
      runtime,
    );
    if (answer.status !== 200) throw refusedUpstream(answer.status);
    const payload = JSON.stringify(
      userinfoAnswer(upstreamClaims(answer), grant, runtime.config.tokens.identity_claims),
    );
    res.writeHead(200, {
      ...safeSuccessHeaders(answer.headers),
      ...dpopNonceHeader(runtime.config),
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      'cache-control': 'no-store',
      pragma: 'no-cache',
    });
    res.end(payload);
  } catch (error) {
    req.resume();
    sendOAuthError(
      res,
      error instanceof OAuthError ? error : internalError('the userinfo request failed'),
    );
  }
}
