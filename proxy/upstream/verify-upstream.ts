/**
 * Verifies the upstream's access token before anything is re-issued from it: signature by a key
 * from the upstream JWKS (never from the token itself; node:crypto, see keys/jws-verifier.ts), an
 * allowed algorithm, the exact issuer, exp. A verified token that lacks an audience the client asked for is the client's error
 * (invalid_target), not a verification failure.
 */
import type { JWTPayload } from 'jose';
import { duplicateJsonKey } from '../http/json-duplicates.js';
import { badUpstream, OAuthError, targetRefused, unavailable } from '../http/oauth-error.js';
import { type JwsRefusal, JwsRefused, type VerifiedJws } from '../keys/jws-verifier.js';
import { type UpstreamKeys, UpstreamKeysUnavailable } from './upstream-keys.js';

/** Header members that point at keys the token chooses itself: never honoured, always refused. */
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c'] as const;

export interface VerifyOptions {
  keys: UpstreamKeys;
  issuer: string;
  algorithms: readonly string[];
  clockToleranceSec: number;
  /** Audiences the client requested; the token must carry each. */
  audiences: readonly string[];
  /**
   * Lifetime the token must have left (seconds): an issued token is never born expiring.
   * Default 1: not expired, whatever the clock tolerance.
   */
  minLifetimeSec?: number;
  /** Clock (seconds since the epoch), for tests. */
  nowSec?: () => number;
}

export class UpstreamTokenRejected extends OAuthError {
  constructor(readonly reason: string) {
    super(
      'server_error',
      'the upstream issued a token that failed verification',
      502,
      'upstream_untrusted',
    );
  }
}

const REFUSALS: Record<JwsRefusal, string> = {
  malformed: 'token is not a well-formed JWS',
  alg_not_allowed: 'token algorithm is not allowed',
  unsupported_header: 'token header carries crit or b64',
  no_matching_key: 'no upstream key fits the token header',
  bad_signature: 'token signature does not verify',
  prototype_member: 'token header or payload has a member named __proto__',
};

/**
 * Refuses a header or payload that repeats a member name: JSON.parse reads the last, a
 * resource server's library may read the first, so the token means two things.
 */
function assertNoRepeatedMembers(verified: VerifiedJws): void {
  if (duplicateJsonKey(verified.headerText) !== undefined) {
    throw new UpstreamTokenRejected('token header repeats a member');
  }
  if (duplicateJsonKey(verified.payloadText) !== undefined) {
    throw new UpstreamTokenRejected('token payload repeats a member');
  }
}

/** The registered claims' types and the issuer, as jose's jwtVerify checks them. */
function assertRegisteredClaims(payload: JWTPayload, options: VerifyOptions, now: number): void {
  if (payload.iss !== options.issuer) throw new UpstreamTokenRejected('token iss is unexpected');
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    const value = payload[claim];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new UpstreamTokenRejected(`token ${claim} is not a number`);
    }
  }
  if (payload.exp === undefined) throw new UpstreamTokenRejected('token has no exp');
  if (payload.nbf !== undefined && payload.nbf > now + options.clockToleranceSec) {
    throw new UpstreamTokenRejected('token is not yet valid (nbf)');
  }
}

/** Claims jose leaves loose: the shape of aud, iat in the future, time left before exp. */
function assertSaneClaims(payload: JWTPayload, options: VerifyOptions, now: number): void {
  const aud = payload.aud;
  const audOk =
    aud === undefined ||
    typeof aud === 'string' ||
    (Array.isArray(aud) && aud.every((item) => typeof item === 'string'));
  if (!audOk) throw new UpstreamTokenRejected('token aud is not a string or an array of strings');
  if (typeof payload.iat === 'number' && payload.iat > now + options.clockToleranceSec) {
    throw new UpstreamTokenRejected('token iat lies in the future');
  }
  const exp = payload.exp as number;
  if (Math.floor(exp) - now < Math.max(1, options.minLifetimeSec ?? 1)) {
    throw new UpstreamTokenRejected('token is expired or expires too soon');
  }
  for (const audience of options.audiences) {
    const carried = Array.isArray(aud) ? aud.includes(audience) : aud === audience;
    // The requested target is the client's own input: not echoed back.
    if (!carried) throw targetRefused('the token cannot be issued for the requested audience');
  }
}

export async function verifyUpstreamToken(
  token: unknown,
  options: VerifyOptions,
): Promise<JWTPayload> {
  if (typeof token !== 'string' || token.split('.').length !== 3) {
    throw new UpstreamTokenRejected('access token is not a JWS compact JWT');
  }
  let verified: VerifiedJws;
  try {
    verified = await options.keys.verifyJws(token, options.algorithms);
  } catch (error) {
    if (error instanceof JwsRefused) throw new UpstreamTokenRejected(REFUSALS[error.refusal]);
    if (error instanceof UpstreamKeysUnavailable) {
      throw unavailable('the upstream signing keys are unavailable');
    }
    throw badUpstream('the upstream token could not be verified');
  }
  for (const member of FORBIDDEN_HEADERS) {
    if (member in verified.header) {
      throw new UpstreamTokenRejected(`token header carries "${member}"`);
    }
  }
  assertNoRepeatedMembers(verified);
  const payload = verified.payload as JWTPayload;
  const now = (options.nowSec ?? (() => Math.floor(Date.now() / 1000)))();
  assertRegisteredClaims(payload, options, now);
  assertSaneClaims(payload, options, now);
  return payload;
}
