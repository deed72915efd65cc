/**
 * Verifies the upstream's access token before anything is re-issued from it: signature by a key
 * from the upstream JWKS (never from the token itself), an allowed algorithm, the exact issuer,
 * exp, and the audience the client asked for.
 */
import { decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import { badUpstream, OAuthError, unavailable } from '../http/oauth-error.js';
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
}

export class UpstreamTokenRejected extends OAuthError {
  constructor(readonly reason: string) {
    super('server_error', 'the upstream issued a token that failed verification', 502);
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
  try {
    const { payload } = await jwtVerify(token, options.keys.resolve, {
      issuer: options.issuer,
      algorithms: [...options.algorithms],
      clockTolerance: options.clockToleranceSec,
      requiredClaims: ['exp'],
    });
    for (const audience of options.audiences) {
      const aud = payload.aud;
      const carried = Array.isArray(aud) ? aud.includes(audience) : aud === audience;
      if (!carried) throw new UpstreamTokenRejected(`token audience does not include ${audience}`);
    }
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
