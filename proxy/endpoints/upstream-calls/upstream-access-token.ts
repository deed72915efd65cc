/**
 * An upstream access token in whatever form `upstream.token_format` says it comes in: a JWT is
 * verified with the upstream's keys, an opaque token is introspected. Either way the result is
 * the claims narrowing, policies and the issued token use, and the audiences the client asked
 * for must be among them.
 */
import type { JWTPayload } from 'jose';
import type { Config } from '../../../config/schema.js';
import { OAuthError, targetRefused, unavailable } from '../../http/oauth-error.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Runtime } from '../../runtime/runtime.js';
import { tokenAudiences } from '../../upstream/identity.js';
import { UpstreamTokenRejected } from '../../upstream/verify-upstream.js';
import { introspectUpstreamToken } from './introspect.js';

/** Three dot-separated parts: what a JWS in compact form looks like (`auto` goes by this). */
export function isCompactJws(token: unknown): token is string {
  return typeof token === 'string' && token.split('.').length === 3;
}

export function isIntrospected(
  token: unknown,
  format: Config['upstream']['token_format'],
): boolean {
  return format === 'opaque' || (format === 'auto' && !isCompactJws(token));
}

async function verifyJwt(
  token: unknown,
  audiences: readonly string[],
  runtime: Runtime,
): Promise<JWTPayload> {
  const { config } = runtime;
  try {
    // Memoised per generation: the same upstream token arrives again from the token cache.
    return await runtime.verifiedTokens.verify(token, {
      keys: runtime.upstreamKeys,
      issuer: await runtime.discovery.issuer(),
      algorithms: config.upstream.algorithms,
      clockToleranceSec: Math.ceil(config.tokens.clock_tolerance / 1000),
      minLifetimeSec: Math.ceil(config.tokens.min_lifetime / 1000),
      audiences,
    });
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    // Discovery (the upstream issuer) could not be fetched: transient, like unavailable keys.
    throw unavailable('the upstream issuer or keys could not be resolved');
  }
}

async function introspect(
  token: unknown,
  audiences: readonly string[],
  runtime: Runtime,
  metrics?: Metrics,
): Promise<JWTPayload> {
  if (typeof token !== 'string' || token === '') {
    throw new UpstreamTokenRejected('access token is not a string');
  }
  const cache = runtime.introspectionCache;
  const ask = () => introspectUpstreamToken(token, runtime, metrics);
  const claims = cache === undefined ? await ask() : await cache.claims(token, ask);
  const carried = tokenAudiences(claims);
  // As for a JWT: an audience the token lacks is the client's error, not echoed back.
  if (audiences.some((audience) => !carried.includes(audience))) {
    throw targetRefused('the token cannot be issued for the requested audience');
  }
  return claims;
}

export function verifyUpstreamAccessToken(
  token: unknown,
  audiences: readonly string[],
  runtime: Runtime,
  metrics?: Metrics,
): Promise<JWTPayload> {
  return isIntrospected(token, runtime.config.upstream.token_format)
    ? introspect(token, audiences, runtime, metrics)
    : verifyJwt(token, audiences, runtime);
}
