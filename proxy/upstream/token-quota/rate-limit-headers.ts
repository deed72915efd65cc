/**
 * The upstream's rate-limit headers on its token answers (`x-ratelimit-limit`, `-remaining`,
 * `-reset`: Auth0, Okta and most API gateways) as gauges, so an alert can fire before the quota
 * is gone. Only non-negative integers are believed; the values are numbers, never labels.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Metrics } from '../../observability/metrics.js';

const INTEGER = /^[0-9]{1,15}$/;
/**
 * `-reset` is epoch seconds at Auth0 and Okta, seconds to wait elsewhere (GitHub's is epoch,
 * the IETF RateLimit draft's a delta): a value past this is read as a point in time.
 */
const EPOCH_FROM = 1_000_000_000;

function integerHeader(headers: IncomingHttpHeaders, name: string): number | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !INTEGER.test(text.trim())) return undefined;
  return Number(text.trim());
}

export function observeRateLimitHeaders(
  headers: IncomingHttpHeaders,
  metrics: Metrics | undefined,
  now: number = Date.now(),
): void {
  if (metrics === undefined) return;
  const limit = integerHeader(headers, 'x-ratelimit-limit');
  const remaining = integerHeader(headers, 'x-ratelimit-remaining');
  const reset = integerHeader(headers, 'x-ratelimit-reset');
  if (limit !== undefined) metrics.upstreamRateLimitLimit.set(limit);
  if (remaining !== undefined) metrics.upstreamRateLimitRemaining.set(remaining);
  if (reset !== undefined) {
    const seconds = reset >= EPOCH_FROM ? Math.max(0, reset - Math.floor(now / 1000)) : reset;
    metrics.upstreamRateLimitReset.set(seconds);
  }
}
