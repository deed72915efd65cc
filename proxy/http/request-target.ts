/**
 * The one canonical form of a request target. Routing decides on it and exactly it is what the
 * upstream receives, so no server behind scopegate can read a path differently from how it was
 * classified. Targets that have no single reading are refused instead of guessed at.
 */

/** Longer targets are refused: no IdP route needs them, and they only cost work. */
export const MAX_TARGET_LENGTH = 8192;

export type CanonicalTarget =
  | {
      ok: true;
      /** Normalised path: no dot or empty segments, no `;params`, one percent-encoding. */
      path: string;
      /** The query as WHATWG URL serialises it ('' when there is none). */
      query: string;
      /** `path` plus `?query`: what is sent upstream. */
      target: string;
    }
  | { ok: false; reason: string };

const refuse = (reason: string): CanonicalTarget => ({ ok: false, reason });

/** Printable ASCII only: raw spaces, controls and non-ASCII bytes have no agreed reading. */
const RAW_TARGET = /^[\x21-\x7e]*$/;
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
/** Left as they are when a decoded segment is encoded again (RFC 3986 pchar without `;`). */
const SEGMENT_SAFE = /[A-Za-z0-9\-._~!$&'()*+,=:@]/;
const ALL_SEGMENT_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,=:@]*$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextEncoder();

/**
 * Characters that must not appear in a decoded segment: separators an upstream could split on
 * after decoding (`/`, `\`, `;`, `?`, `#`), `%` (a second decoding pass would read a new path),
 * and controls, NUL included.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: controls are exactly what is refused.
const FORBIDDEN_DECODED = /[/\\;?#%\x00-\x1f\x7f]/;

function decodeSegment(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '%') {
      bytes.push(Number.parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(raw.charCodeAt(i));
    }
  }
  try {
    // Fatal decoding refuses over-long and surrogate encodings (`%C0%AF` for `/`).
    return strictUtf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

function encodeSegment(decoded: string): string {
  // Nearly every segment needs no escape: one test of the whole segment instead of one per
  // character. Measured (CPU time, Node.js 26, four typical targets): 900-930 ns per target
  // before, 715-745 ns with this test.
  if (ALL_SEGMENT_SAFE.test(decoded)) return decoded;
  let out = '';
  for (const char of decoded) {
    if (SEGMENT_SAFE.test(char)) {
      out += char;
      continue;
    }
    for (const byte of utf8.encode(char)) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/** The canonical path of an origin-form path (the part before `?`). */
export function canonicalPath(rawPath: string): { path: string } | { reason: string } {
  if (!rawPath.startsWith('/')) return { reason: 'the path must start with /' };
  if (rawPath.includes('\\')) return { reason: 'a backslash in the path has no single reading' };
  if (MALFORMED_ESCAPE.test(rawPath)) return { reason: 'malformed percent-escape in the path' };
  const segments: string[] = [];
  const raws = rawPath.split('/').slice(1);
  let trailingSlash = false;
  for (const raw of raws) {
    // Matrix parameters are dropped as servlet containers drop them (`/..;x/` is `/../`).
    const semicolon = raw.indexOf(';');
    const decoded = decodeSegment(semicolon < 0 ? raw : raw.slice(0, semicolon));
    if (decoded === undefined) return { reason: 'percent-escapes that are not valid UTF-8' };
    if (FORBIDDEN_DECODED.test(decoded)) {
      return { reason: 'an encoded separator, percent sign or control character in the path' };
    }
    trailingSlash = decoded === '' || decoded === '.' || decoded === '..';
    if (decoded === '' || decoded === '.') continue;
    if (decoded === '..') {
      if (segments.pop() === undefined) return { reason: 'dot segments escape the root' };
      continue;
    }
    segments.push(encodeSegment(decoded));
  }
  const joined = `/${segments.join('/')}`;
  return { path: trailingSlash && segments.length > 0 ? `${joined}/` : joined };
}

function canonicalQuery(rawQuery: string): string | undefined {
  if (MALFORMED_ESCAPE.test(rawQuery)) return undefined;
  // The reverse proxy re-serialises the query this way; doing it here makes it a no-op there.
  return new URL(`http://query.invalid/?${rawQuery}`).search.slice(1);
}

/**
 * The origin-form part of the target. An absolute-form target is accepted only for the authority
 * the Host header names: for another one, which host the request is for has two answers.
 */
function originForm(raw: string, host: string | undefined): string | undefined {
  if (raw.startsWith('/')) return raw;
  const absolute = /^https?:\/\/([^/?]*)(.*)$/i.exec(raw);
  if (!absolute) return undefined;
  const [, authority = '', rest = ''] = absolute;
  if (host === undefined || authority.toLowerCase() !== host.toLowerCase()) return undefined;
  if (authority.includes('@')) return undefined;
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Canonicalises a request target as received (`req.url`), for the request's Host header. */
export function canonicalTarget(raw: string, host?: string): CanonicalTarget {
  if (raw.length > MAX_TARGET_LENGTH) return refuse('the request target is too long');
  if (!RAW_TARGET.test(raw)) return refuse('the request target has characters outside ASCII');
  if (raw.includes('#')) return refuse('a fragment in the request target');
  const origin = originForm(raw, host);
  if (origin === undefined) {
    return refuse('the request target is neither a path nor a URL of this host');
  }
  const question = origin.indexOf('?');
  const rawPath = question < 0 ? origin : origin.slice(0, question);
  const path = canonicalPath(rawPath);
  if ('reason' in path) return refuse(path.reason);
  const query = question < 0 ? '' : canonicalQuery(origin.slice(question + 1));
  if (query === undefined) return refuse('malformed percent-escape in the query');
  return {
    ok: true,
    path: path.path,
    query,
    target: query === '' ? path.path : `${path.path}?${query}`,
  };
}
