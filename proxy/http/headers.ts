/**
 * Header hygiene shared by the reverse proxy and the token endpoint: hop-by-hop headers never
 * cross (RFC 9110 §7.6.1), and X-Forwarded-* describe the real connection, never the client's
 * claims about it.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Headers that describe the client connection. The client's own values are dropped; the first
 * four are then set from the socket. The others are dropped outright: upstreams and their
 * frameworks trust them as readily (X-Real-IP for rate limits, X-Forwarded-Prefix for redirects).
 */
const FORWARDED = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-real-ip',
]);

/** Hop-by-hop headers, including any the Connection header names. */
export function hopByHopNames(headers: IncomingHttpHeaders): Set<string> {
  const names = new Set(HOP_BY_HOP);
  const connection = headers.connection;
  if (typeof connection === 'string') {
    for (const name of connection.split(',')) names.add(name.trim().toLowerCase());
  }
  return names;
}

/** Copies end-to-end headers, dropping hop-by-hop ones and anything in `drop`. */
export function endToEndHeaders(
  headers: IncomingHttpHeaders,
  drop: Iterable<string> = [],
): OutgoingHttpHeaders {
  const skip = hopByHopNames(headers);
  for (const name of drop) skip.add(name);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !skip.has(name)) out[name] = value;
  }
  return out;
}

/** X-Forwarded-* built from the socket: what the client sent for these is discarded. */
export function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const encrypted = (req.socket as TLSSocket).encrypted === true;
  const headers: Record<string, string> = {
    'x-forwarded-for': req.socket.remoteAddress ?? 'unknown',
    'x-forwarded-proto': encrypted ? 'https' : 'http',
  };
  if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  return headers;
}

export function isForwardedHeader(name: string): boolean {
  return FORWARDED.has(name);
}

export const FORWARDED_HEADER_NAMES: readonly string[] = [...FORWARDED];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is well-formed, otherwise a new one. */
export function requestIdFor(req: IncomingMessage, generate: () => string): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : generate();
}
