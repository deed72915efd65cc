/**
 * The application/x-www-form-urlencoded parser of the WHATWG URL standard (§5.1), over bytes in
 * one pass: split on `&` (empty pieces skipped), name and value split at the first `=`, `+` is a
 * space, `%XX` a byte, anything else itself, then UTF-8 (invalid sequences become U+FFFD).
 *
 * The same answer as URLSearchParams, without its cost on hostile input: URLSearchParams (and a
 * regex replace of `+`) take about twenty times longer on a megabyte of `a+a+a...` than on a
 * megabyte of `aaa...`; this loop costs the same per byte whatever the bytes are.
 */

const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const PLUS = 0x2b;
const PERCENT = 0x25;
const SPACE = 0x20;

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/** Decodes bytes [start, end) of `body` into `scratch` and returns them as text. */
function decodeComponent(body: Uint8Array, start: number, end: number, scratch: Buffer): string {
  let length = 0;
  for (let i = start; i < end; i++) {
    const byte = body[i] as number;
    if (byte === PLUS) {
      scratch[length++] = SPACE;
      continue;
    }
    if (byte === PERCENT && i + 2 < end) {
      const high = hexValue(body[i + 1] as number);
      const low = hexValue(body[i + 2] as number);
      if (high >= 0 && low >= 0) {
        scratch[length++] = high * 16 + low;
        i += 2;
        continue;
      }
    }
    scratch[length++] = byte;
  }
  return scratch.toString('utf8', 0, length);
}

export class TooManyFormPairs extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} parameters`);
    this.name = 'TooManyFormPairs';
  }
}

/** The name/value pairs of a form body, in order; throws TooManyFormPairs past `maxPairs`. */
export function parseFormPairs(
  body: Uint8Array,
  maxPairs = Number.POSITIVE_INFINITY,
): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const scratch = Buffer.allocUnsafe(body.length);
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(AMPERSAND, start);
    if (end < 0) end = body.length;
    if (end > start) {
      if (pairs.length >= maxPairs) throw new TooManyFormPairs(maxPairs);
      let equals = body.indexOf(EQUALS, start);
      if (equals < 0 || equals > end) equals = end;
      const name = decodeComponent(body, start, equals, scratch);
      const value = equals < end ? decodeComponent(body, equals + 1, end, scratch) : '';
      pairs.push([name, value]);
    }
    start = end + 1;
  }
  return pairs;
}
