/**
 * The ways the leak oracle's upstream writes a body around its tokens: content codings, chunked
 * framing, another charset, and value spellings a reader decodes (JSON unicode escapes, percent
 * encoding, HTML character references). Each is something a client undoes before it reads.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { RawAnswer } from './leak-upstream.js';

export const BODY_ENCODINGS = [
  'identity',
  'gzip',
  'deflate',
  'br',
  'chunked',
  'utf-16le',
  'json-unicode-escape',
  'percent-encoded',
] as const;
export type BodyEncoding = (typeof BODY_ENCODINGS)[number];

/** Every character as `%XX`: what a percent-decoding reader turns back into the token. */
export function percentEncodeAll(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');
}

/** Every character as a decimal HTML character reference. */
export function entityEncodeAll(text: string): string {
  return [...text].map((c) => `&#${c.codePointAt(0)};`).join('');
}

/** JSON text with every letter and digit inside strings written as `\uXXXX` (`\u0065yJ...`). */
export function unicodeEscapedJson(value: unknown): string {
  const text = JSON.stringify(value);
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString && c === '\\') {
      out += c + (text[i + 1] ?? '');
      i++;
    } else if (c === '"') {
      inString = !inString;
      out += c;
    } else if (inString && /[A-Za-z0-9]/.test(c)) {
      out += `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`;
    } else {
      out += c;
    }
  }
  return out;
}

/** How a token is spelled inside a value under this encoding. */
export function spell(token: string, encoding: BodyEncoding): string {
  return encoding === 'percent-encoded' ? percentEncodeAll(token) : token;
}

/** A JSON answer around `value`, written in `encoding`. */
export function jsonAnswer(status: number, value: unknown, encoding: BodyEncoding): RawAnswer {
  const text =
    encoding === 'json-unicode-escape' ? unicodeEscapedJson(value) : JSON.stringify(value);
  return encodedAnswer(status, 'application/json', Buffer.from(text, 'utf8'), encoding);
}

/** A body of `type`, written in `encoding` (value spellings are the caller's). */
export function encodedAnswer(
  status: number,
  type: string | undefined,
  body: Buffer,
  encoding: BodyEncoding,
): RawAnswer {
  const headers: Array<[string, string]> = type === undefined ? [] : [['content-type', type]];
  switch (encoding) {
    case 'gzip':
      return { status, headers: [...headers, ['content-encoding', 'gzip']], body: gzipSync(body) };
    case 'deflate':
      return {
        status,
        headers: [...headers, ['content-encoding', 'deflate']],
        body: deflateSync(body),
      };
    case 'br':
      return {
        status,
        headers: [...headers, ['content-encoding', 'br']],
        body: brotliCompressSync(body),
      };
    case 'chunked':
      return { status, headers, body, chunked: true };
    case 'utf-16le':
      return {
        status,
        headers: type === undefined ? [] : [['content-type', `${type}; charset=utf-16le`]],
        body: Buffer.from(body.toString('utf8'), 'utf16le'),
      };
    default:
      return { status, headers, body };
  }
}
