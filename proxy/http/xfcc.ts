/**
 * Envoy's `X-Forwarded-Client-Cert` (XFCC) header, read in one pass. Its grammar, from Envoy's
 * documentation: the value is a comma-separated list of elements, one per proxy that handled the
 * request, each appended at the end; an element is a semicolon-separated list of `key=value`
 * pairs; keys (`By`, `Hash`, `Cert`, `Chain`, `Subject`, `URI`, `DNS`) are case-insensitive and may
 * repeat (one `URI` or `DNS` per SAN); a value holding `,`, `;` or `=` is double-quoted, and a `"`
 * inside it is written `\"`. `Subject` is always quoted, since a DN holds commas.
 *
 * Anything else (an unterminated quote, text after a closing quote, a pair without `=`, an empty
 * element or pair) makes the whole header unreadable: a header that two readers could split
 * differently must not name a certificate.
 */

export interface XfccPair {
  /** Lower case. */
  key: string;
  value: string;
}

export type XfccElement = XfccPair[];

export type XfccParse = { ok: true; elements: XfccElement[] } | { ok: false; reason: string };

const KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;
const isSpace = (char: string) => char === ' ' || char === '\t';

export function parseXfcc(header: string): XfccParse {
  const elements: XfccElement[] = [];
  let pairs: XfccElement = [];
  let key: string | undefined;
  let token = '';
  let quoted = false;
  let problem: string | undefined;

  const endPair = () => {
    if (key === undefined) {
      problem ??= token.trim() === '' ? 'an empty element or pair' : 'a pair without =';
      return;
    }
    if (!KEY.test(key)) problem ??= 'a malformed key';
    pairs.push({ key: key.toLowerCase(), value: quoted ? token : token.trim() });
    key = undefined;
    token = '';
    quoted = false;
  };
  const endElement = () => {
    elements.push(pairs);
    pairs = [];
  };

  let i = 0;
  while (i < header.length && problem === undefined) {
    const char = header[i] as string;
    if (char === ',' || char === ';') {
      endPair();
      if (char === ',') endElement();
      i += 1;
    } else if (quoted) {
      // After a closing quote only spaces may come before the next separator.
      if (!isSpace(char)) problem = 'text after a quoted value';
      i += 1;
    } else if (char === '"') {
      if (key === undefined || token.trim() !== '') {
        problem = 'a quote inside a key or value';
        break;
      }
      let value = '';
      let closed = false;
      i += 1;
      while (i < header.length) {
        const inner = header[i] as string;
        if (inner === '\\' && i + 1 < header.length) {
          value += header[i + 1];
          i += 2;
        } else if (inner === '"') {
          closed = true;
          i += 1;
          break;
        } else {
          value += inner;
          i += 1;
        }
      }
      if (!closed) problem = 'an unterminated quoted value';
      token = value;
      quoted = true;
    } else if (char === '=' && key === undefined) {
      key = token.trim();
      token = '';
      i += 1;
    } else {
      token += char;
      i += 1;
    }
  }
  if (problem === undefined) {
    endPair();
    endElement();
  }
  return problem === undefined ? { ok: true, elements } : { ok: false, reason: problem };
}

/** The values of `key` (any case) in one element. */
export function xfccValues(element: XfccElement, key: string): string[] {
  const wanted = key.toLowerCase();
  return element.filter((pair) => pair.key === wanted).map((pair) => pair.value);
}
