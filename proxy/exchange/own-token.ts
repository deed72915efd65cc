/**
 * Verifies a token scopegate issued itself: signed by one of its own keys that is still
 * published (next, active, or retired inside its window), its own issuer, `typ` at+jwt, and not
 * expired. Keys come from the configuration, never from the token.
 */
import { createLocalJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import { withoutPrototypes } from '../http/untrusted-json.js';
import type { Runtime } from '../runtime.js';

export async function verifyOwnToken(
  token: string,
  runtime: Runtime,
  /**
   * Revocation only: an expired token still names what it carried (RFC 7009 §2: revoking a
   * token that is no longer valid is no error), so its signature and issuer are checked as of
   * just before its `exp`.
   */
  options: { acceptExpired?: boolean } = {},
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
  // Claims scopegate signed were once the upstream's: read them as untrusted JSON all the same.
  return withoutPrototypes(payload);
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
