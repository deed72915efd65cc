/**
 * Verifies the upstream's access token before anything is re-issued from it: signature by a key
 * from the upstream JWKS (never from the token itself), an allowed algorithm, the exact issuer,
 * exp. A verified token that lacks an audience the client asked for is the client's error
 * (invalid_target), not a verification failure.
 */
import type { webcrypto } from 'node:crypto';
import { decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import { duplicateJsonKey } from '../http/json-duplicates.js';
import { badUpstream, OAuthError, targetRefused, unavailable } from '../http/oauth-error.js';
import { type UpstreamKeys, UpstreamKeysUnavailable } from '../keys/upstream-keys.js';

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

/**
 * jwtVerify with the upstream keys. A token without `kid` may match several published keys of
 * its algorithm (jose refuses to guess): each candidate is tried, and the token is accepted only
 * if one of them verifies it. The candidates all come from the upstream JWKS.
 */
async function verifyAgainstUpstreamKeys(token: string, options: VerifyOptions) {
  const verifyOptions = {
    issuer: options.issuer,
    algorithms: [...options.algorithms],
    clockTolerance: options.clockToleranceSec,
    requiredClaims: ['exp'],
  };
  try {
    return (await jwtVerify(token, options.keys.resolve, verifyOptions)).payload;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    let last: unknown = error;
    for await (const candidate of error as unknown as AsyncIterable<webcrypto.CryptoKey>) {
      try {
        return (await jwtVerify(token, candidate, verifyOptions)).payload;
      } catch (failure) {
        last = failure;
        if (!(failure instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    throw last;
  }
}

/**
 * Refuses a token whose header or payload repeats a member name: jose (JSON.parse) reads the
 * last, a resource server's library may read the first, so the token means two things.
 */
function assertNoRepeatedMembers(token: string): void {
  const [header = '', payload = ''] = token.split('.');
  for (const [part, what] of [
    [header, 'header'],
    [payload, 'payload'],
  ] as const) {
    const text = Buffer.from(part, 'base64url').toString('utf8');
    if (duplicateJsonKey(text) !== undefined) {
      throw new UpstreamTokenRejected(`token ${what} repeats a member`);
    }
  }
}

/** Claims jose leaves loose: the shape of aud, iat in the future, time left before exp. */
function assertSaneClaims(payload: JWTPayload, options: VerifyOptions): void {
  const aud = payload.aud;
  const audOk =
    aud === undefined ||
    typeof aud === 'string' ||
    (Array.isArray(aud) && aud.every((item) => typeof item === 'string'));
  if (!audOk) throw new UpstreamTokenRejected('token aud is not a string or an array of strings');
  const now = (options.nowSec ?? (() => Math.floor(Date.now() / 1000)))();
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
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new UpstreamTokenRejected('access token header is not valid');
  }
  for (const member of FORBIDDEN_HEADERS) {
    if (member in header) throw new UpstreamTokenRejected(`token header carries "${member}"`);
  }
  assertNoRepeatedMembers(token);
  try {
    const payload = await verifyAgainstUpstreamKeys(token, options);
    assertSaneClaims(payload, options);
    return payload;
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    if (error instanceof UpstreamKeysUnavailable) {
      throw unavailable('the upstream signing keys are unavailable');
    }
    if (error instanceof errors.JOSEError) throw new UpstreamTokenRejected(error.code);
    throw badUpstream('the upstream token could not be verified');
  }
}
