/**
 * An undici answer's headers in the shape node:http gives them (IncomingMessage#headers), which
 * every caller of the upstream client reads: undici makes an array of any repeated header, Node
 * keeps the first of a header that may appear once (a second Content-Type cannot turn a string
 * into an array under a caller's feet), joins the others, and always gives Set-Cookie as an array.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The headers node:http keeps the first of when repeated (lib/_http_incoming.js). */
const FIRST_ONLY: ReadonlySet<string> = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** Rewrites `parsed` (undici's, lower-case names) in place and returns it. */
export function nodeHeaders(
  parsed: Record<string, string | string[] | undefined>,
): IncomingHttpHeaders {
  for (const name in parsed) {
    const value = parsed[name];
    if (name === 'set-cookie') {
      if (typeof value === 'string') parsed[name] = [value];
    } else if (Array.isArray(value)) {
      if (FIRST_ONLY.has(name)) parsed[name] = value[0];
      else parsed[name] = value.join(name === 'cookie' ? '; ' : ', ');
    }
  }
  return parsed as IncomingHttpHeaders;
}
