/**
 * Step "profile" (clients held to the fapi2 profile), before anything reaches the upstream:
 *
 * - the client was authenticated by scopegate (client-auth-step.ts) with private_key_jwt, its
 *   assertion signed PS256, ES256 or EdDSA and its `aud` scopegate's issuer alone (§5.3.2.1,
 *   §5.4), or with mutual TLS (tls_client_auth, self_signed_tls_client_auth: RFC 8705 §2);
 * - the resource owner password credentials grant is refused (FAPI 2.0 §5.3.2.1);
 * - every token request carries a DPoP proof, unless the client's tokens are bound to its
 *   certificate (sender-constrained tokens, §5.3.2.1, RFC 8705 §3; the proof or the certificate
 *   was checked by sender-binding-step.ts);
 * - authorization code grant: the code must be one
 * scopegate saw pass in an authorization response of a pushed request
 * (relay/profile-response.ts), redeemed once, within `pushed_authorization.code_lifetime` (at
 * most 60 s), by the client it was issued to, with the same redirect_uri and the PKCE verifier of
 * the pushed challenge (RFC 7636 §4.6, S256). Checked before anything reaches the upstream, so
 * an upstream without PKCE or with longer-lived, reusable codes still meets the profile.
 *
 * A code is taken from the store when it is presented: a second presentation finds nothing,
 * whatever the first one's outcome.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { VerifiedProof } from '../../http/dpop-proof.js';
import { ClientAuthenticationFailed, invalidRequest, OAuthError } from '../../http/oauth-error.js';
import { parseUntrustedObject } from '../../http/untrusted-json.js';
import { anyProfile, profileOf } from '../../issued/client-profile.js';
import { FAPI2_ALGORITHMS, FAPI2_CLIENT_AUTH_METHODS } from '../../rules/security-profile.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { AuthenticatedClient } from './client-auth/authenticated-client.js';
import type { TokenRequest } from './token-request.js';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description, 400);

function s256(verifier: string): Buffer {
  return createHash('sha256').update(verifier, 'ascii').digest();
}

/** The decoded JSON of one part of a JWT that client-auth already verified. */
function jwtPart(jwt: string, index: number): Record<string, unknown> | undefined {
  try {
    return parseUntrustedObject(
      Buffer.from(jwt.split('.')[index] ?? '', 'base64url').toString('utf8'),
    );
  } catch {
    return undefined;
  }
}

/**
 * A client held to the profile authenticates with private_key_jwt or mutual TLS, verified by
 * scopegate, and an assertion meets the profile: signed with an algorithm it allows, for scopegate's issuer as
 * the only audience. At the token endpoint and the PAR endpoint alike.
 */
export function requireProfileAuthentication(
  client: AuthenticatedClient | undefined,
  params: ReadonlyMap<string, string>,
  issuer: string,
): void {
  if (
    client === undefined ||
    !client.verifiedHere ||
    !FAPI2_CLIENT_AUTH_METHODS.has(client.method)
  ) {
    throw new ClientAuthenticationFailed(
      false,
      'the fapi2 profile requires private_key_jwt or mutual TLS client authentication',
    );
  }
  // Mutual TLS (RFC 8705 §2): the certificate was checked by client authentication itself.
  if (client.method !== 'private_key_jwt') return;
  const assertion = params.get('client_assertion') ?? '';
  const alg = jwtPart(assertion, 0)?.alg;
  if (typeof alg !== 'string' || !FAPI2_ALGORITHMS.has(alg)) {
    throw new ClientAuthenticationFailed(
      false,
      'the fapi2 profile allows PS256, ES256 and EdDSA client assertions only',
    );
  }
  if (jwtPart(assertion, 1)?.aud !== issuer) {
    throw new ClientAuthenticationFailed(
      false,
      "the fapi2 profile requires the assertion's aud to be the issuer alone",
    );
  }
}

export async function checkProfileGrant(
  request: TokenRequest,
  runtime: Runtime,
  proof: VerifiedProof | undefined,
  /** The client's tokens are bound to its certificate (the binding step required one). */
  certificateBound = false,
): Promise<void> {
  const { config } = runtime;
  if (!anyProfile(config)) return;
  const held = profileOf(config, request.clientIdHint) !== undefined;
  if (held) requireProfileAuthentication(request.client, request.body.params, config.issuer);
  if (held && request.grantType === 'password') {
    throw new OAuthError(
      'unauthorized_client',
      'the password grant is not allowed under the fapi2 profile',
      400,
    );
  }
  if (held && proof === undefined && !certificateBound) {
    // Sender-constrained tokens (FAPI 2.0 §5.3.2.1): every token a held client gets is bound, to a
    // DPoP key or (RFC 8705 §3) to the certificate the binding step already required.
    throw new OAuthError(
      'invalid_dpop_proof',
      'the fapi2 profile requires sender-constrained tokens: send a DPoP proof (or register the client for certificate-bound tokens)',
      400,
    );
  }
  if (request.grantType !== 'authorization_code') return;
  const params = request.body.params;
  const code = params.get('code');
  if (code === undefined) return; // the upstream answers a request without a code
  const binding = await runtime.authorizationStore.take('code', code);
  const clientId = request.clientIdHint;
  if (binding === undefined) {
    // A client held to a profile redeems only codes of its pushed requests; so does a request
    // that names no client, whose client scopegate cannot tell.
    if (clientId === undefined || profileOf(config, clientId) !== undefined) {
      throw invalidGrant(
        'the authorization code is unknown to scopegate, was used already or has expired',
      );
    }
    return;
  }
  if (clientId !== binding.clientId) {
    throw invalidGrant('the authorization code was issued to another client');
  }
  if (Date.now() - binding.seenAt > config.pushed_authorization.code_lifetime) {
    throw invalidGrant('the authorization code has expired');
  }
  if (params.get('redirect_uri') !== binding.redirectUri) {
    throw invalidGrant('redirect_uri is not the one of the authorization request');
  }
  const verifier = params.get('code_verifier');
  if (verifier === undefined) throw invalidGrant('code_verifier (PKCE) is required');
  if (!CODE_VERIFIER.test(verifier)) throw invalidRequest('code_verifier is malformed');
  // RFC 9449 §10: a code pushed with dpop_jkt is redeemed only with a proof by that key.
  if (binding.dpopJkt !== undefined && proof?.jkt !== binding.dpopJkt) {
    throw invalidGrant('the DPoP key is not the one dpop_jkt named');
  }
  const expected = Buffer.from(binding.codeChallenge, 'base64url');
  const actual = s256(verifier);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw invalidGrant('code_verifier does not match the code_challenge');
  }
}
