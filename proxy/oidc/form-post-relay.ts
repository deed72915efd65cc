/**
 * Proxied HTML responses that may be form_post authorization responses: buffered (bounded),
 * decoded, passed through the form_post rewrite, and written with an exact length.
 *
 * Which responses: any proxied `text/html` response (or one without a content type, which
 * browsers sniff as HTML) with a body that is not declared larger than
 * the cap, whatever its path. IdPs post the authorization response from many places (the
 * authorization endpoint itself, its resume step, login form handlers such as Keycloak's
 * `login-actions`), so the response, not the path, decides. Everything else is never touched by
 * this module: the check costs one header read on the proxy path.
 *
 * Size: a form_post answer is a few hundred bytes. An HTML page found to be larger than the cap
 * (a login page with inline assets) is passed on as it came, what was held first and the rest
 * streamed; were it an authorization response, the client would get the upstream's `iss` and
 * refuse it (RFC 9207), so the mix-up defence still holds.
 *
 * Compression: a compressed page is decompressed (gzip, deflate, br; zstd where the runtime has
 * it), to the same cap, and sent uncompressed when rewritten (a form_post page is small). Codings
 * the runtime cannot decode are taken out of the client's Accept-Encoding before the request goes
 * upstream (`acceptedCodings`); a page that comes back in one anyway, or fails to decode, cannot
 * be inspected and is refused: it could be an authorization response.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import * as zlib from 'node:zlib';
import { badUpstream, sendOAuthError } from '../http/oauth-error.js';
import type { FormPostRewrite } from './form-post-response.js';

/** Bytes of an HTML response held for inspection (before and after decompression). */
export const FORM_POST_INSPECT_LIMIT = 256 * 1024;

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

const HTML = /^\s*text\/html\s*(?:;|$)/i;

/** Whether a proxied response may be a form_post answer (and is to be held). */
export function mayBeFormPost(req: IncomingMessage, proxyRes: IncomingMessage): boolean {
  const type = proxyRes.headers['content-type'];
  // Without a content type browsers sniff the page and render HTML (glewlwyd sends its form_post
  // page so): such a response is inspected like text/html.
  if (type !== undefined && !HTML.test(type)) return false;
  if (req.method === 'HEAD' || proxyRes.statusCode === 204 || proxyRes.statusCode === 304) {
    return false;
  }
  const length = proxyRes.headers['content-length'];
  return length === undefined || Number(length) <= FORM_POST_INSPECT_LIMIT;
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
      decoded = decoder(decoded, { maxOutputLength: FORM_POST_INSPECT_LIMIT });
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
  res.statusCode = proxyRes.statusCode ?? 502;
  if (proxyRes.statusMessage && req.httpVersionMajor === 1) {
    res.statusMessage = proxyRes.statusMessage;
  }
}

export interface FormPostRelay {
  rewrite(html: Buffer): FormPostRewrite;
  /** Told why a response was refused (for the log). */
  refused(reason: string): void;
}

/**
 * Relays `proxyRes` to `res` through the form_post rewrite. The caller has told http-proxy-3 that
 * it handles this response itself; the hop-by-hop and Location treatment has already been applied
 * to `proxyRes.headers`.
 */
export function relayHtmlResponse(
  req: IncomingMessage,
  res: ServerResponse,
  proxyRes: IncomingMessage,
  relay: FormPostRelay,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const passOn = (body: Buffer | undefined) => {
    writeHead(req, res, proxyRes, body?.length, false);
    if (body !== undefined) res.end(body);
  };
  const refuse = (reason: string) => {
    relay.refused(reason);
    sendOAuthError(res, badUpstream("the upstream's authorization response cannot be passed on"));
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    chunks.push(chunk);
    if (size <= FORM_POST_INSPECT_LIMIT) return;
    // Too large to be a form_post answer: what was held goes first, the rest streams.
    proxyRes.off('data', onData);
    proxyRes.off('end', onEnd);
    passOn(undefined);
    for (const held of chunks) res.write(held);
    chunks.length = 0;
    proxyRes.pipe(res);
  };
  const onEnd = () => {
    const received = Buffer.concat(chunks, size);
    const decoded = decode(received, headerValue(proxyRes.headers['content-encoding']));
    if (decoded.kind === 'unreadable') {
      refuse('the HTML response is in a content coding that cannot be decoded');
      return;
    }
    if (decoded.kind === 'too_large') {
      passOn(received);
      return;
    }
    const result = relay.rewrite(decoded.body);
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
  proxyRes.on('data', onData);
  proxyRes.on('end', onEnd);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
