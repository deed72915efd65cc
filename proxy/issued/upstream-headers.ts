/**
 * The few headers of the upstream's token answer a client may see: CORS (a browser needs them to
 * read the answer at all), Vary, WWW-Authenticate on errors (RFC 6749 §5.2 for 401) and
 * Retry-After. Everything else is scopegate's. Each value must be short printable ASCII with
 * nothing shaped like a token, or it is dropped.
 *
 * DPoP belongs to scopegate alone: the upstream never sees a client's proof, so its DPoP-Nonce
 * and a `DPoP` challenge would be taken by the client for scopegate's and answered with proofs
 * scopegate never asked for. Neither is ever kept.
 */
import type { IncomingHttpHeaders } from 'node:http';

const SUCCESS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-expose-headers',
  'vary',
] as const;

const ERROR_HEADERS = [...SUCCESS_HEADERS, 'www-authenticate', 'retry-after'] as const;

/** A DPoP challenge (RFC 9449 §7.1) anywhere in a WWW-Authenticate value. */
const DPOP_CHALLENGE = /(^|[\s,])dpop(\s|,|$)/i;

const MAX_HEADER_VALUE = 512;
/** Visible ASCII and spaces (RFC 9110 field-vchar without obs-text). */
const PRINTABLE = /^[\x20-\x7E]*$/;
const TOKEN_SHAPED = /eyJ[A-Za-z0-9_-]{8}/;

function safeValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(', ') : value;
  if (text.length === 0 || text.length > MAX_HEADER_VALUE) return undefined;
  if (!PRINTABLE.test(text) || TOKEN_SHAPED.test(text)) return undefined;
  return text;
}

function pick(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = safeValue(headers[name]);
    if (value === undefined) continue;
    if (name === 'www-authenticate' && DPOP_CHALLENGE.test(value)) continue;
    out[name] = value;
  }
  return out;
}

/** Headers of a 200 token answer kept for the client. */
export function safeSuccessHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return pick(headers, SUCCESS_HEADERS);
}

/** Headers of an upstream error kept on the rebuilt error. */
export function safeErrorHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return pick(headers, ERROR_HEADERS);
}
