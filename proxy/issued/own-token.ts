/**
 * Verifies a token scopegate issued itself: signed by one of its own keys that is still
 * published (next, active, or retired inside its window), its own issuer, `typ` at+jwt (or the
 * `typ` the token profile of its client and audience gives), not expired, and not revoked
 * (neither it nor a token it was exchanged from: revocation-refs.ts). Keys come from the
 * configuration, never from the token. Every endpoint that accepts one of scopegate's tokens
 * verifies it here, so none can forget the revocation check.
 */
import { createLocalJWKSet, decodeJwt, errors, type JWTPayload, jwtVerify } from 'jose';
import { withoutPrototypes } from '../http/untrusted-json.js';
import type { Runtime } from '../runtime/runtime.js';
import { tokenAudiences } from '../upstream/identity.js';
import { revocationRefsOf } from './revocation-refs.js';
import { tokenProfileFor } from './token-profile.js';

/** Claims of an ID token that scopegate's access tokens never carry (the schema refuses them). */
const ID_TOKEN_MARKERS = ['at_hash', 'nonce'];

/**
 * Whether a token whose `typ` is not at+jwt is an access token scopegate issued with that typ:
 * the profile of the client and audience it names says so. ID tokens share the keys and may say
 * `typ: JWT`; they carry at_hash (or nonce) and are never taken for access tokens.
 */
function profileTyp(payload: JWTPayload, typ: string, runtime: Runtime): boolean {
  if (ID_TOKEN_MARKERS.some((name) => Object.hasOwn(payload, name))) return false;
  const clientId = payload.client_id;
  if (typeof clientId !== 'string') return false;
  return tokenProfileFor(runtime.config, clientId, tokenAudiences(payload)).typ === typ;
}

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
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(published), {
    issuer: config.issuer,
    algorithms: [...new Set(signingKeys.keys.map((key) => key.alg))],
    clockTolerance: Math.ceil(config.tokens.clock_tolerance / 1000),
    requiredClaims: ['exp'],
    currentDate: new Date(at),
  });
  const typ = protectedHeader.typ ?? 'none';
  if (typ !== 'at+jwt' && !profileTyp(payload, typ, runtime)) {
    throw new errors.JWTClaimValidationFailed('unexpected "typ" JWT header value', payload, 'typ');
  }
  // 503 when the revocation state cannot be read: never taken for "not revoked".
  if (options.acceptRevoked !== true) {
    if (await runtime.revokedTokens.anyRevoked(revocationRefsOf(payload))) throw new TokenRevoked();
  }
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
