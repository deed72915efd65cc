/**
 * An upstream's `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, as the time to
 * wait in milliseconds. Anything else, a date in the past included, is no pause at all: a pause
 * is only ever what the upstream asked for, cut to the configured longest.
 */
const DELTA_SECONDS = /^[0-9]{1,9}$/;

export function retryAfterMs(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (DELTA_SECONDS.test(trimmed)) {
    const ms = Number(trimmed) * 1000;
    return ms > 0 ? ms : undefined;
  }
  // Only the shape an HTTP-date has (IMF-fixdate and the two obsolete forms all name a weekday).
  if (trimmed.length > 40 || !/^[A-Za-z]{3}/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at) || at <= now) return undefined;
  return at - now;
}

/** A Retry-After value for a wait in milliseconds: whole seconds, at least 1. */
export function retryAfterHeader(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}
