/**
 * scopegate in front of a leaky upstream (leaky-upstream.ts), its upstream pinned (token path,
 * issuer, JWKS), and handed back once the upstream's keys are loaded: the answer screen tells the
 * upstream's JWTs by their kid, so a test that starts before the JWKS arrived would test less.
 */

import { startTestGateway, type TestGateway } from './gateway.js';
import type { LeakyUpstream } from './leaky-upstream.js';

export async function startGatewayBeforeLeakyUpstream(
  upstream: LeakyUpstream,
): Promise<TestGateway> {
  const gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    config: {
      upstream: {
        url: upstream.url,
        token_path: '/token',
        issuer: upstream.issuer,
        jwks_uri: `${upstream.url}/jwks`,
        timeout: '2s',
      },
    },
  });
  for (let i = 0; i < 50 && !gateway.instance.runtime().upstreamKeys.loaded; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return gateway;
}
