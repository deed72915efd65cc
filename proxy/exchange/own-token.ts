/**
 * Verifies a token scopegate issued itself: signed by one of its own keys that is still
 * published (next, active, or retired inside its window), its own issuer, `typ` at+jwt, not
 * expired, and not revoked (neither it nor a token it was exchanged from: revocation-refs.ts).
 * Keys come from the configuration, never from the token. Every endpoint that accepts one of
 * scopegate's tokens verifies it here, so none can forget the revocation check.
 */
import { createLocalJWKSet, decodeJwt, errors, type JWTPayload, jwtVerify } from 'jose';
import { revocationRefsOf } from '../oidc/revocation-refs.js';
import type { Runtime } from '../runtime.js';

/** The token, or one it was derived from, was revoked at scopegate's revocation endpoint. */
export class TokenRevoked extends errors.JOSEError {
  static override code = 'ERR_SCOPEGATE_TOKEN_REVOKED';
  override code = 'ERR_SCOPEGATE_TOKEN_REVOKED';
  constructor() {
    super('the token has been revoked');
    this.name = 'TokenRevoked';
  }
}

export async function verifyOwnToken(
  token: string,
  runtime: Runtime,
  /**
   * Revocation only: an expired token still names what it carried (RFC 7009 §2: revoking a
   * token that is no longer valid is no error), so its signature and issuer are checked as of
   * just before its `exp`.
   * acceptRevoked, revocation only: revoking a revoked token again is no error either.
   */
  options: { acceptExpired?: boolean; acceptRevoked?: boolean } = {},
): Promise<JWTPayload> {
  const { config, signingKeys } = runtime;
  const now = Date.now();
  const exp = options.acceptExpired === true ? expiryOf(token) : undefined;
  const at = exp !== undefined && exp * 1000 <= now ? (exp - 1) * 1000 : now;
  const published = signingKeys.jwks(now);
  const { payload } = await jwtVerify(token, createLocalJWKSet(published), {
    issuer: config.issuer,
    typ: 'at+jwt',
    algorithms: [...new Set(signingKeys.keys.map((key) => key.alg))],
    clockTolerance: Math.ceil(config.tokens.clock_tolerance / 1000),
    requiredClaims: ['exp'],
    currentDate: new Date(at),
  });
  // 503 when the revocation state cannot be read: never taken for "not revoked".
  if (options.acceptRevoked !== true) {
    if (await runtime.revokedTokens.anyRevoked(revocationRefsOf(payload))) throw new TokenRevoked();
  }
  return payload;
}

/** The unverified `exp` of a token, only to choose the instant it is verified at. */
function expiryOf(token: string): number | undefined {
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}
