/**
 * Character references in HTML attribute values, decoded as a browser does for the characters a
 * URL or an OAuth parameter can hold. Numeric references are decoded in full; named ones only from
 * the table below. A named reference outside the table stays as written, so a value that uses one
 * never compares equal to an issuer URL: callers that act on equality then refuse rather than
 * guess (the safe direction).
 */

/** Named references for ASCII punctuation and the markup characters (WHATWG named references). */
const NAMED: ReadonlyMap<string, string> = new Map(
  Object.entries({
    amp: '&',
    lt: '<',
    gt: '>',
    quot: '"',
    apos: "'",
    sol: '/',
    bsol: '\\',
    colon: ':',
    semi: ';',
    comma: ',',
    period: '.',
    excl: '!',
    quest: '?',
    num: '#',
    percnt: '%',
    equals: '=',
    plus: '+',
    lowbar: '_',
    UnderBar: '_',
    commat: '@',
    dollar: '$',
    ast: '*',
    midast: '*',
    lpar: '(',
    rpar: ')',
    lsqb: '[',
    lbrack: '[',
    rsqb: ']',
    rbrack: ']',
    lcub: '{',
    lbrace: '{',
    rcub: '}',
    rbrace: '}',
    verbar: '|',
    vert: '|',
    VerticalLine: '|',
    grave: '`',
    DiacriticalGrave: '`',
    tilde: '~',
    Hat: '^',
    nbsp: '\u00a0',
    Tab: '\t',
    NewLine: '\n',
  }),
);

/** References HTML also recognises without the semicolon (legacy), among those in NAMED. */
const LEGACY = new Set(['amp', 'lt', 'gt', 'quot', 'nbsp']);

function fromCodePoint(code: number): string {
  // The HTML tokenizer's replacements: NUL, surrogates and values beyond Unicode become U+FFFD.
  // (The windows-1252 remapping of 0x80-0x9F is not applied: no URL contains those characters.)
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(code);
}

const REFERENCE = /&(?:#[xX]([0-9a-fA-F]+);?|#([0-9]+);?|([A-Za-z][A-Za-z0-9]*)(;?))/g;

/** The value of an attribute as the browser sees it (references decoded). */
export function decodeAttributeValue(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(
    REFERENCE,
    (match, hex: string | undefined, decimal: string | undefined, name, semicolon, offset) => {
      if (hex !== undefined) return fromCodePoint(Number.parseInt(hex, 16));
      if (decimal !== undefined) return fromCodePoint(Number.parseInt(decimal, 10));
      const named = NAMED.get(name as string);
      if (named === undefined) return match;
      if (semicolon === ';') return named;
      // Without a semicolon only the legacy names decode, and in an attribute value not when the
      // next character is `=` or alphanumeric (the name then reads as part of a query string).
      const next = raw.charAt((offset as number) + match.length);
      return LEGACY.has(name as string) && !/[=A-Za-z0-9]/.test(next) ? named : match;
    },
  );
}

/** A value written as a double-quoted attribute value that decodes to exactly `value`. */
export function encodeAttributeValue(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}
