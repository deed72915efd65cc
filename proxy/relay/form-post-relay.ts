/**
 * Proxied responses held for screening (front-channel-screen.ts): buffered up to SCREEN_LIMIT,
 * decoded, screened for upstream tokens, passed through the form_post rewrite when they may be
 * pages, and written with an exact length. Which responses are held is the screen's decision;
 * this module holds them.
 *
 * A held body that turns out larger than the limit is refused, not passed on: scopegate could not
 * read it, and a form_post answer padded past any cap would otherwise leave with the upstream's
 * token in it.
 *
 * Compression: a compressed body is decompressed (gzip, deflate, br; zstd where the runtime has
 * it), to the same cap, and sent uncompressed when rewritten. Codings the runtime cannot decode
 * are taken out of the client's Accept-Encoding before the request goes upstream
 * (`acceptedCodings`); a body that comes back in one anyway, or fails to decode, cannot be
 * inspected and is refused. So is a body in a character encoding whose bytes hide ASCII
 * (UTF-16 is read as such; UTF-32 is refused).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import * as zlib from 'node:zlib';
import { badUpstream, sendOAuthError } from '../http/oauth-error.js';
import type { FormPostRewrite } from './form-post-response.js';
import { SCREEN_LIMIT } from './front-channel-screen.js';

type Decoder = (input: Buffer, options: zlib.ZlibOptions | zlib.BrotliOptions) => Buffer;

/** zstd is in node:zlib from Node 22.15; on older runtimes it is not offered upstream. */
const zstdDecompressSync = (zlib as unknown as Record<string, Decoder | undefined>)
  .zstdDecompressSync;

const DECODERS: ReadonlyMap<string, Decoder> = new Map<string, Decoder>([
  ['gzip', zlib.gunzipSync],
  ['x-gzip', zlib.gunzipSync],
  ['deflate', zlib.inflateSync],
  ['br', zlib.brotliDecompressSync],
  ...(zstdDecompressSync === undefined ? [] : [['zstd', zstdDecompressSync] as const]),
]);

const ZSTD = /zstd/i;

/**
 * The client's Accept-Encoding without the codings this runtime cannot decode, or undefined when
 * it needs no change. Called for every proxied request: one substring test in the common case.
 */
export function acceptedCodings(acceptEncoding: string | undefined): string | undefined {
  if (zstdDecompressSync !== undefined || acceptEncoding === undefined) return undefined;
  if (!ZSTD.test(acceptEncoding)) return undefined;
  return acceptEncoding
    .split(',')
    .filter((coding) => coding.split(';')[0]?.trim().toLowerCase() !== 'zstd')
    .join(',');
}

/**
 * Types a browser renders as a document that can post a form: HTML, XHTML and other XML, and a
 * response without a content type (browsers sniff it; glewlwyd sends its form_post page so).
 */
const PAGE =
  /^\s*(?:text\/html|application\/xhtml\+xml|text\/xml|application\/xml|[a-z0-9.+-]+\/[a-z0-9.+-]*\+xml)\s*(?:;|$)/i;

/** Whether a response of this type may be a form_post page (and gets the form_post rewrite). */
export function mayBePage(contentType: string | undefined): boolean {
  return contentType === undefined || PAGE.test(contentType);
}

/** Whether a proxied response has a body at all. */
export function hasResponseBody(req: IncomingMessage, proxyRes: IncomingMessage): boolean {
  const status = proxyRes.statusCode ?? 200;
  return req.method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200;
}

type Decoded = { kind: 'body'; body: Buffer } | { kind: 'too_large' } | { kind: 'unreadable' };

function decode(body: Buffer, contentEncoding: string | undefined): Decoded {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  let decoded = body;
  // Codings are listed in the order they were applied: undone from the last.
  for (const coding of codings.reverse()) {
    const decoder = DECODERS.get(coding);
    if (decoder === undefined) return { kind: 'unreadable' };
    try {
      decoded = decoder(decoded, { maxOutputLength: SCREEN_LIMIT });
    } catch (error) {
      // zlib signals maxOutputLength with a RangeError; anything else is a corrupt body.
      return error instanceof RangeError ? { kind: 'too_large' } : { kind: 'unreadable' };
    }
  }
  return { kind: 'body', body: decoded };
}

/** Headers whose value describes the bytes as the upstream sent them. */
const REPRESENTATION_HEADERS = [
  'content-encoding',
  'etag',
  'content-md5',
  'digest',
  'content-digest',
  'repr-digest',
];

function writeHead(
  req: IncomingMessage,
  res: ServerResponse,
  proxyRes: IncomingMessage,
  length: number | undefined,
  rewritten: boolean,
): void {
  const headers: IncomingHttpHeaders = { ...proxyRes.headers };
  // Hop-by-hop headers other than transfer-encoding were removed by the proxy already.
  delete headers['transfer-encoding'];
  delete headers['content-length'];
  if (req.httpVersionMajor > 1) {
    delete headers.connection;
    delete headers['keep-alive'];
  }
  if (rewritten) for (const name of REPRESENTATION_HEADERS) delete headers[name];
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) res.setHeader(name, value);
  }
  if (length !== undefined) res.setHeader('content-length', length);
  // The standard reason phrase of the status: the upstream's own is never relayed.
  res.statusCode = proxyRes.statusCode ?? 502;
}

export interface ScreenedRelay {
  /** The form_post rewrite, for a body that may be a page; undefined for other types. */
  rewrite: ((html: Buffer) => FormPostRewrite) | undefined;
  /** Why the decoded body (as text) must not reach the client, or undefined. */
  screen(text: string): string | undefined;
  /** Told why a response was refused (for the log). */
  refused(reason: string): void;
}

/** The body as the texts a reader could see in it: bytes as Latin-1, and UTF-16 when declared. */
function bodyTexts(body: Buffer, contentType: string | undefined): string[] | undefined {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset?.startsWith('utf-32') === true || charset?.startsWith('ucs-4') === true) {
    return undefined;
  }
  const texts = [body.toString('latin1')];
  const bom = body.length >= 2 ? body.readUInt16BE(0) : 0;
  const utf16 = charset?.startsWith('utf-16') === true || charset === 'ucs-2';
  if (utf16 || bom === 0xfffe || bom === 0xfeff) {
    texts.push(body.toString('utf16le'));
    const swapped = Buffer.from(body.subarray(0, body.length - (body.length % 2)));
    texts.push(swapped.swap16().toString('utf16le'));
  }
  return texts;
}

/**
 * Relays `proxyRes` to `res` once its body has been read and screened. The caller has told
 * http-proxy-3 that it handles this response itself; the hop-by-hop and Location treatment has
 * already been applied to `proxyRes.headers`.
 */
export function relayScreenedResponse(
  req: IncomingMessage,
  res: ServerResponse,
  proxyRes: IncomingMessage,
  relay: ScreenedRelay,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const passOn = (body: Buffer) => {
    writeHead(req, res, proxyRes, body.length, false);
    res.end(body);
  };
  const refuse = (reason: string) => {
    settled = true;
    relay.refused(reason);
    sendOAuthError(res, badUpstream("the upstream's answer cannot be passed on"));
    // Nothing more of it is read or kept; the upstream connection is not reused.
    proxyRes.off('data', onData);
    proxyRes.off('end', onEnd);
    proxyRes.destroy();
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > SCREEN_LIMIT) {
      refuse('the response is too large to screen');
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = () => {
    if (settled) return;
    const received = Buffer.concat(chunks, size);
    const decoded = decode(received, headerValue(proxyRes.headers['content-encoding']));
    if (decoded.kind === 'unreadable') {
      refuse('the response is in a content coding that cannot be decoded');
      return;
    }
    if (decoded.kind === 'too_large') {
      refuse('the decoded response is too large to screen');
      return;
    }
    const texts = bodyTexts(decoded.body, headerValue(proxyRes.headers['content-type']));
    if (texts === undefined) {
      refuse('the response is in a character encoding that is not screened');
      return;
    }
    for (const text of texts) {
      const why = relay.screen(text);
      if (why !== undefined) {
        refuse(`the response body carries ${why}`);
        return;
      }
    }
    const result = relay.rewrite?.(decoded.body) ?? { kind: 'none' };
    if (result.kind === 'refused') {
      refuse(result.reason);
      return;
    }
    if (result.kind === 'none') {
      passOn(received);
      return;
    }
    writeHead(req, res, proxyRes, result.body.length, true);
    res.end(result.body);
  };
  const declared = Number(proxyRes.headers['content-length']);
  if (Number.isFinite(declared) && declared > SCREEN_LIMIT) {
    refuse('the response is too large to screen');
    return;
  }
  proxyRes.on('data', onData);
  proxyRes.on('end', onEnd);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
