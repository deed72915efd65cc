/**
 * Header hygiene shared by the reverse proxy and the token endpoint: hop-by-hop headers never
 * cross (RFC 9110 §7.6.1), and forwarding headers describe the real connection, never the
 * client's claims about it (only a configured trusted proxy's are believed).
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { isIPv6 } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { CLIENT_CERTIFICATE_HEADERS } from './client-certificate-headers.js';
import type { TrustedProxies } from './trusted-proxies.js';

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
 * Headers that describe the client connection. Upstreams and their frameworks trust them for
 * rate limits, audit logs and redirect URLs (X-Real-IP, X-Forwarded-Prefix...), and for the
 * client's certificate behind an ingress that terminated TLS (X-Forwarded-Client-Cert,
 * ssl-client-cert...), so a client's own values never pass; a trusted proxy's do
 * (forwardedHeaders).
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
  'x-client-ip',
  'true-client-ip',
  ...CLIENT_CERTIFICATE_HEADERS,
]);

/**
 * Hop-by-hop headers, including any the Connection header names. Without a Connection header, or
 * with just `keep-alive` (already in the set), the shared set is returned: this runs for every
 * proxied request and response, and callers only read it.
 */
export function hopByHopNames(headers: IncomingHttpHeaders): ReadonlySet<string> {
  const connection = headers.connection;
  if (typeof connection !== 'string' || NAMES_NO_HEADER.test(connection)) return HOP_BY_HOP;
  const names = new Set(HOP_BY_HOP);
  for (const name of connection.split(',')) names.add(name.trim().toLowerCase());
  return names;
}

const NAMES_NO_HEADER = /^\s*keep-alive\s*$/i;

/**
 * Copies end-to-end headers, dropping hop-by-hop ones and anything in `drop` (a set the caller
 * builds once: this runs for every token request).
 */
export function endToEndHeaders(
  headers: IncomingHttpHeaders,
  drop: ReadonlySet<string> = NO_NAMES,
): OutgoingHttpHeaders {
  const hopByHop = hopByHopNames(headers);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !hopByHop.has(name) && !drop.has(name)) out[name] = value;
  }
  return out;
}

const NO_NAMES: ReadonlySet<string> = new Set();

/**
 * The forwarding headers to send upstream in place of every header in FORWARDED. From a peer
 * that is not a trusted proxy, all of the client's are discarded: X-Forwarded-For and -Proto are
 * built from the connection, and X-Forwarded-Host is `publicHost`, the host of scopegate's
 * issuer. Never the client's Host header: upstreams build login-form actions, redirects and reset
 * links from it, and any client can send any Host. From a trusted proxy they are kept as it sent
 * them, with the peer appended to X-Forwarded-For (and to Forwarded, when it sent one) and
 * -Proto/-Host filled in from the connection and the issuer when it sent none.
 */
export function forwardedHeaders(
  req: IncomingMessage,
  trusted: TrustedProxies,
  publicHost: string,
): Record<string, string> {
  const peer = req.socket.remoteAddress ?? 'unknown';
  const fromConnection: Record<string, string> = {
    'x-forwarded-for': peer,
    'x-forwarded-proto': (req.socket as TLSSocket).encrypted === true ? 'https' : 'http',
    'x-forwarded-host': publicHost,
  };
  if (!trusted.trusts(req.socket.remoteAddress)) return fromConnection;

  const kept: Record<string, string> = {};
  for (const name of FORWARDED) {
    const value = req.headers[name];
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (text !== undefined && text.trim() !== '') kept[name] = text;
  }
  const chain = kept['x-forwarded-for'];
  kept['x-forwarded-for'] = chain === undefined ? peer : `${chain}, ${peer}`;
  if (kept.forwarded !== undefined) {
    kept.forwarded = `${kept.forwarded}, for=${isIPv6(peer) ? `"[${peer}]"` : peer}`;
  }
  return { ...fromConnection, ...kept };
}

/** The host clients reach scopegate at, by its configured issuer: what upstreams are told. */
export function publicHostOf(issuer: string): string {
  return new URL(issuer).host;
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
