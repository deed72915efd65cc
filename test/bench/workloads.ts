/**
 * The requests every benchmark script sends: a token request (the client id decides whether the
 * gateway's upstream token cache may answer it) and the two pass-through responses.
 */
import { BENCH_AUDIENCE, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET } from './fast-upstream.js';
import type { HttpCall } from './load.js';

/** A client id the cache rule does not name: every request goes to the upstream. */
export const UNCACHED_CLIENT = 'bench-uncached';
/** The client whose requests the upstream token cache answers (bench-config.ts). */
export const CACHED_CLIENT = BENCH_CLIENT_ID;

export function tokenCall(clientId: string): HttpCall {
  return {
    method: 'POST',
    path: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: BENCH_CLIENT_SECRET,
      audience: BENCH_AUDIENCE,
      scope: 'read:claims accounts.read.1234',
    }).toString(),
  };
}

export const SMALL: HttpCall = { method: 'GET', path: '/small' };
export const LARGE: HttpCall = { method: 'GET', path: '/large' };
export const LARGE_BYTES = 1024 * 1024;

/** The workloads the profiling and cost scripts take by name. */
export const WORKLOADS = {
  uncached: tokenCall(UNCACHED_CLIENT),
  cached: tokenCall(CACHED_CLIENT),
  proxy: SMALL,
} as const;
export type WorkloadName = keyof typeof WORKLOADS;
