/**
 * An IdP token endpoint that counts what reaches it: calls per client, the most in flight at once,
 * and when each arrived. Past `limit` calls it answers as Auth0 does when a tenant's quota is
 * spent: 429 with Retry-After and x-ratelimit-* headers. Every answer carries the rate-limit
 * headers, so scopegate's gauges can be read against the figures here. Real HTTP on port 0 and
 * real signatures (test/support/custom-upstream.ts).
 */
import { type CustomUpstream, startCustomUpstream } from '../support/custom-upstream.js';
import { sleep } from '../support/wait.js';

export interface CountingUpstreamOptions {
  /** Calls answered with a token; later ones get 429 (default: no limit). */
  limit?: number;
  /** Retry-After of the 429 past the limit, seconds. */
  retryAfter?: number;
  /** Status past the limit (429, 503, or a 500 for the breaker). */
  overStatus?: number;
  /** How long each answer takes, so calls overlap. */
  delayMs?: number;
}

export interface CountingUpstream {
  idp: CustomUpstream;
  url: string;
  /** Arrival times (ms) of every token call, oldest first. */
  arrivals: number[];
  calls(clientId?: string): number;
  maxInFlight: number;
  setLimit(limit: number | undefined): void;
  close(): Promise<void>;
}

export async function startCountingUpstream(
  options: CountingUpstreamOptions = {},
): Promise<CountingUpstream> {
  let limit = options.limit;
  const arrivals: number[] = [];
  const byClient: string[] = [];
  let inFlight = 0;
  const counting: CountingUpstream = {
    idp: undefined as unknown as CustomUpstream,
    url: '',
    arrivals,
    calls: (clientId) =>
      clientId === undefined ? byClient.length : byClient.filter((id) => id === clientId).length,
    maxInFlight: 0,
    setLimit(next) {
      limit = next;
    },
    close: () => counting.idp.close(),
  };
  const idp = await startCustomUpstream({
    alg: 'ES256',
    handler: async (request, upstream) => {
      const clientId = request.params.client_id ?? 'unknown';
      arrivals.push(Date.now());
      byClient.push(clientId);
      inFlight += 1;
      counting.maxInFlight = Math.max(counting.maxInFlight, inFlight);
      try {
        if (options.delayMs) await sleep(options.delayMs);
        const used = byClient.length;
        const rateHeaders = {
          'x-ratelimit-limit': String(limit ?? 1000),
          'x-ratelimit-remaining': String(Math.max(0, (limit ?? 1000) - used)),
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 30),
        };
        if (limit !== undefined && used > limit) {
          return {
            status: options.overStatus ?? 429,
            body: {
              error: 'too_many_requests',
              error_description: 'Global limit has been reached',
            },
            headers: { ...rateHeaders, 'retry-after': String(options.retryAfter ?? 30) },
          };
        }
        const now = Math.floor(Date.now() / 1000);
        const answer = await upstream.tokenResponse({
          sub: `${clientId}@clients`,
          client_id: clientId,
          scope: 'read',
          exp: now + 3600,
        });
        return { ...answer, headers: { ...answer.headers, ...rateHeaders } };
      } finally {
        inFlight -= 1;
      }
    },
  });
  counting.idp = idp;
  counting.url = idp.url;
  return counting;
}
