/**
 * Verifies a token scopegate issued itself: signed by one of its own keys that is still
 * published (next, active, or retired inside its window), its own issuer, `typ` at+jwt, and not
 * expired. Keys come from the configuration, never from the token.
 */
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { Runtime } from '../runtime.js';

export async function verifyOwnToken(token: string, runtime: Runtime): Promise<JWTPayload> {
  const { config, signingKeys } = runtime;
  const now = Date.now();
  const published = signingKeys.jwks(now);
  const { payload } = await jwtVerify(token, createLocalJWKSet(published), {
    issuer: config.issuer,
    typ: 'at+jwt',
    algorithms: [...new Set(signingKeys.keys.map((key) => key.alg))],
    clockTolerance: Math.ceil(config.tokens.clock_tolerance / 1000),
    requiredClaims: ['exp'],
    currentDate: new Date(now),
  });
  return payload;
}
