/**
 * What a client receives from the token endpoint, byte for byte: the status line, every header
 * and the body (content-decoded when the answer says it is encoded), read from a raw socket so
 * nothing is normalised away. `expectNoUpstreamToken` asserts that none of it carries the
 * upstream's token or a piece of it.
 */
import net from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { expect } from 'vitest';

export interface ClientBytes {
  status: number;
  headers: Record<string, string>;
  /** Everything received, as latin1 (one character per byte). */
  raw: string;
  /** The body after undoing transfer and content coding. */
  body: string;
  json(): Record<string, unknown>;
}

function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let rest = body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol < 0) break;
    const size = Number.parseInt(rest.subarray(0, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(rest.subarray(eol + 2, eol + 2 + size));
    rest = rest.subarray(eol + 2 + size + 2);
  }
  return Buffer.concat(out);
}

function contentDecoded(body: Buffer, coding: string | undefined): Buffer {
  if (coding === 'gzip') return gunzipSync(body);
  if (coding === 'deflate') return inflateSync(body);
  if (coding === 'br') return brotliDecompressSync(body);
  return body;
}

/** POSTs a form body to `url` over a fresh connection and returns every byte of the answer. */
export function postFormBytes(
  url: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<ClientBytes> {
  const target = new URL(url);
  const body = new URLSearchParams(params).toString();
  const lines = [
    `POST ${target.pathname} HTTP/1.1`,
    `host: ${target.host}`,
    'connection: close',
    'content-type: application/x-www-form-urlencoded',
    `content-length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  const request = `${lines.join('\r\n')}\r\n\r\n${body}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(target.port), target.hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no complete answer within 15 s'));
    }, 15_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, split < 0 ? all.length : split).toString('latin1');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon > 0)
          parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let payload: Buffer = split < 0 ? Buffer.alloc(0) : all.subarray(split + 4);
      if (parsed['transfer-encoding'] === 'chunked') payload = dechunk(payload);
      const text = contentDecoded(payload, parsed['content-encoding']).toString('utf8');
      resolve({
        status: Number(statusLine.split(' ')[1] ?? 0),
        headers: parsed,
        raw: all.toString('latin1'),
        body: text,
        json: () => JSON.parse(text) as Record<string, unknown>,
      });
    });
  });
}

/**
 * The secret and the pieces of it that would still be worth something: a JWT's payload and
 * signature segments each, or an opaque token whole.
 */
function pieces(secret: string): string[] {
  const segments = secret.split('.').filter((segment) => segment.length >= 16);
  return [secret, ...(segments.length > 1 ? segments.slice(1) : [])];
}

/** Not the token, not its payload, not its signature: in the raw bytes or the decoded body. */
export function expectNoUpstreamToken(answer: ClientBytes, ...secrets: string[]): void {
  for (const secret of secrets) {
    for (const piece of pieces(secret)) {
      expect(answer.raw.includes(piece), 'an upstream token (or a piece) in the raw answer').toBe(
        false,
      );
      expect(answer.body.includes(piece), 'an upstream token (or a piece) in the body').toBe(false);
    }
  }
}

/** An OAuth error answer: JSON with error and an RFC 6749 §5.2 error_description, no-store. */
export function expectOAuthError(answer: ClientBytes, status: number, error: string): string {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(answer.headers['cache-control']).toBe('no-store');
  const body = answer.json();
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe('string');
  expect(body.error_description).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/);
  expect(
    Object.keys(body).every((key) => ['error', 'error_description', 'error_uri'].includes(key)),
  ).toBe(true);
  return body.error_description as string;
}
