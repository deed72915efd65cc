/**
 * The upstream token endpoint's body as text, after undoing the content codings scopegate
 * supports (gzip, deflate, br). Any other coding, a body that does not decode, or one that
 * decodes past the size cap is unreadable: the caller answers with its own OAuth error.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/** Decoded bodies are capped like raw ones: a small compressed body must not expand unbounded. */
export const MAX_DECODED_BODY = 1024 * 1024;
/** More stacked codings than this is not something an IdP does. */
const MAX_CODINGS = 2;

export class UnreadableUpstreamBody extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableUpstreamBody';
  }
}

function decodeOne(coding: string, body: Buffer): Buffer {
  const limit = { maxOutputLength: MAX_DECODED_BODY };
  switch (coding) {
    case 'identity':
      return body;
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body, limit);
    case 'deflate':
      // RFC 9110 says zlib-wrapped; some servers send raw deflate. Both are deflate.
      try {
        return inflateSync(body, limit);
      } catch {
        return inflateRawSync(body, limit);
      }
    case 'br':
      return brotliDecompressSync(body, limit);
    default:
      throw new UnreadableUpstreamBody(`unsupported content coding "${coding.slice(0, 32)}"`);
  }
}

/** The codings listed in Content-Encoding, in the order they were applied. */
export function contentCodings(headers: IncomingHttpHeaders): string[] {
  const header = headers['content-encoding'];
  if (header === undefined) return [];
  return header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '');
}

/** The body as UTF-8 text, decoded; throws UnreadableUpstreamBody. */
export function decodedUpstreamBody(headers: IncomingHttpHeaders, body: Buffer): string {
  const codings = contentCodings(headers);
  if (codings.length > MAX_CODINGS) {
    throw new UnreadableUpstreamBody('too many content codings');
  }
  let decoded = body;
  try {
    for (const coding of codings.reverse()) decoded = decodeOne(coding, decoded);
  } catch (error) {
    if (error instanceof UnreadableUpstreamBody) throw error;
    throw new UnreadableUpstreamBody('the body does not decode');
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(decoded);
  return text;
}
