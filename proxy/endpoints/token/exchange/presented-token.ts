/**
 * A subject or actor token presented for exchange, verified before anything is read from it:
 * scopegate's own tokens with scopegate's published keys, the upstream's with every check the
 * token endpoint applies to them (JWT or introspection, per upstream.token_format). Anything
 * else, or a token that fails a check, is the client's error (RFC 8693 §2.2.2 invalid_request).
 */
import { decodeJwt, errors, type JWTPayload } from 'jose';
import { invalidRequest, type OAuthError } from '../../../http/oauth-error.js';
import { verifyOwnToken } from '../../../issued/own-token.js';
import { ACCEPTED_INPUT_TYPES } from '../../../issued/token-types.js';
import type { Metrics } from '../../../observability/metrics.js';
import type { Runtime } from '../../../runtime/runtime.js';
import { UpstreamTokenRejected } from '../../../upstream/verify-upstream.js';
import {
  isCompactJws,
  verifyUpstreamAccessToken,
} from '../../upstream-calls/upstream-access-token.js';

export type TokenRole = 'subject' | 'actor';

export interface PresentedToken {
  claims: JWTPayload;
  /** Who issued it: scopegate itself, or the upstream. */
  source: 'scopegate' | 'upstream';
}

/** Reasons a client may see: what failed, never key material or the token. */
const JOSE_REASONS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'bad signature',
  ERR_JWKS_NO_MATCHING_KEY: 'unknown signing key',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'a claim check failed',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm not allowed',
  ERR_SCOPEGATE_TOKEN_REVOKED: 'revoked',
};

function rejected(role: TokenRole, reason: string): OAuthError {
  return invalidRequest(`the ${role}_token is not valid: ${reason}`);
}

function unverifiedIssuer(token: string): unknown {
  try {
    return decodeJwt(token).iss;
  } catch {
    return undefined;
  }
}

async function verifyOwn(token: string, role: TokenRole, runtime: Runtime): Promise<JWTPayload> {
  try {
    return await verifyOwnToken(token, runtime);
  } catch (error) {
    if (error instanceof errors.JOSEError) {
      throw rejected(role, JOSE_REASONS[error.code] ?? 'invalid');
    }
    throw error;
  }
}

async function verifyUpstream(
  token: string,
  role: TokenRole,
  runtime: Runtime,
  metrics?: Metrics,
): Promise<JWTPayload> {
  try {
    return await verifyUpstreamAccessToken(token, [], runtime, metrics);
  } catch (error) {
    // The upstream's token failing a check is the presenter's problem; unavailable keys or
    // introspection stay 5xx (the token may be fine).
    if (error instanceof UpstreamTokenRejected) {
      throw rejected(role, JOSE_REASONS[error.reason] ?? error.reason);
    }
    throw error;
  }
}

export async function verifyPresentedToken(
  token: string | undefined,
  type: string | undefined,
  role: TokenRole,
  runtime: Runtime,
  metrics?: Metrics,
): Promise<PresentedToken> {
  if (token === undefined) throw invalidRequest(`${role}_token is required`);
  if (type === undefined) throw invalidRequest(`${role}_token_type is required`);
  if (!ACCEPTED_INPUT_TYPES.has(type)) {
    throw invalidRequest(`this ${role}_token_type is not supported: access tokens only`);
  }
  const { config } = runtime;
  if (isCompactJws(token) && unverifiedIssuer(token) === config.issuer) {
    return { claims: await verifyOwn(token, role, runtime), source: 'scopegate' };
  }
  if (!config.token_exchange.accept_upstream_tokens) {
    throw rejected(role, 'only tokens issued by this gateway are accepted');
  }
  return { claims: await verifyUpstream(token, role, runtime, metrics), source: 'upstream' };
}
