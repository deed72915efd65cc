/**
 * The gateway configuration every benchmark uses: the fast upstream, `scope_request: omit`
 * (Auth0's behaviour), JSON logs at info, and the upstream token cache on for BENCH_CLIENT_ID
 * only (every other client id takes the uncached path).
 */
import { prepareTestConfig, type TestConfig } from '../support/gateway.js';
import { BENCH_CLIENT_ID } from './fast-upstream.js';

/** A public benchmark value, not a secret. */
const BENCH_CACHE_KEY = 'bench-cache-key-not-a-secret-0123456789abcdef';

/** `over`: more configuration, merged one level deep (the workers runs add `server.workers`). */
export function prepareBenchConfig(
  upstreamUrl: string,
  over: Record<string, unknown> = {},
): Promise<TestConfig> {
  return prepareTestConfig({
    upstreamUrl,
    scopeRequest: 'omit',
    config: {
      clients: [{ client_id: BENCH_CLIENT_ID, cache: true }],
      cache: { upstream_tokens: { key: BENCH_CACHE_KEY } },
      log: { format: 'json', level: 'info' },
      ...over,
    },
  });
}
