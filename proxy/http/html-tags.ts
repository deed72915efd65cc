/**
 * The start tags of an HTML document with their attributes, read by the rules of the WHATWG HTML
 * tokenizer for what matters here: comments, doctypes and end tags are skipped; the content of
 * raw-text elements (`script`, `style`, `textarea`, `title`, ...) is text, not markup; attribute
 * values may be double-quoted, single-quoted or unquoted; names are case-insensitive; of repeated
 * attributes the first wins; a tag cut off by the end of the document is not a tag. What a browser
 * would submit in a form is therefore what this reader sees, including values spelled with
 * character references.
 *
 * The document is read as latin1 so that string offsets are byte offsets: a caller can splice
 * the bytes it was given without re-encoding anything else. Work is linear in the input.
 */
import { decodeAttributeValue } from './html-entities.js';

export interface HtmlAttribute {
  /** Lowercased, as HTML compares attribute names. */
  name: string;
  /** The decoded value ('' when the attribute has none). */
  value: string;
  /** Byte range of the value as written, quotes included; undefined without a value. */
  valueSpan: readonly [number, number] | undefined;
}

export interface HtmlStartTag {
  /** Lowercased tag name. */
  name: string;
  attributes: ReadonlyMap<string, HtmlAttribute>;
}

/** Elements whose content is text up to their end tag (RAWTEXT, RCDATA and script data). */
const RAW_TEXT = new Set([
  'script',
  'style',
  'textarea',
  'title',
  'xmp',
  'iframe',
  'noembed',
  'noframes',
]);

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
const isLetter = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/** Decodes a latin1 slice of the document (its bytes) as UTF-8, then its character references. */
function attributeValue(html: string, start: number, end: number): string {
  return decodeAttributeValue(Buffer.from(html.slice(start, end), 'latin1').toString('utf8'));
}

interface ParsedTag {
  tag: HtmlStartTag;
  /** Index just past the closing `>`. */
  end: number;
}

/**
 * Reads the tag name and attributes starting at `at` (just past `<`); undefined when the document
 * ends inside the tag.
 */
function readTag(html: string, at: number): ParsedTag | undefined {
  const length = html.length;
  let i = at;
  while (i < length && !isSpace(html[i] as string) && html[i] !== '/' && html[i] !== '>') i++;
  const name = html.slice(at, i).toLowerCase();
  const attributes = new Map<string, HtmlAttribute>();
  for (;;) {
    while (i < length && (isSpace(html[i] as string) || html[i] === '/')) i++;
    if (i >= length) return undefined;
    if (html[i] === '>') return { tag: { name, attributes }, end: i + 1 };
    // An attribute name: its first character may be '=' (a parse error browsers accept).
    const nameStart = i;
    i++;
    while (i < length) {
      const c = html[i] as string;
      if (isSpace(c) || c === '/' || c === '>' || c === '=') break;
      i++;
    }
    const attributeName = html.slice(nameStart, i).toLowerCase();
    while (i < length && isSpace(html[i] as string)) i++;
    let value = '';
    let valueSpan: readonly [number, number] | undefined;
    if (html[i] === '=') {
      i++;
      while (i < length && isSpace(html[i] as string)) i++;
      if (i >= length) return undefined;
      const quote = html[i];
      if (quote === '"' || quote === "'") {
        const close = html.indexOf(quote, i + 1);
        if (close < 0) return undefined;
        value = attributeValue(html, i + 1, close);
        valueSpan = [i, close + 1];
        i = close + 1;
      } else if (quote !== '>') {
        const start = i;
        while (i < length && !isSpace(html[i] as string) && html[i] !== '>') i++;
        value = attributeValue(html, start, i);
        valueSpan = [start, i];
      }
    }
    if (!attributes.has(attributeName)) {
      attributes.set(attributeName, { name: attributeName, value, valueSpan });
    }
  }
}

/** Index past the end tag `</name` (case-insensitive) that closes raw text, or -1. */
function rawTextEnd(html: string, lower: string, from: number, name: string): number {
  let i = from;
  for (;;) {
    const found = lower.indexOf(`</${name}`, i);
    if (found < 0) return -1;
    const after = html[found + 2 + name.length];
    if (after === undefined || after === '>' || after === '/' || isSpace(after)) return found;
    i = found + 2;
  }
}

/** Every start tag of the document, in order, for the tag names in `wanted`. */
export function startTags(html: string, wanted: ReadonlySet<string>): HtmlStartTag[] {
  const tags: HtmlStartTag[] = [];
  const length = html.length;
  let lower: string | undefined;
  let i = 0;
  while (i < length) {
    const open = html.indexOf('<', i);
    if (open < 0 || open + 1 >= length) break;
    const next = html[open + 1] as string;
    if (html.startsWith('<!--', open)) {
      // `<!-->` and `<!--->` are empty comments; otherwise up to `-->` (or the end: all comment).
      if (html.startsWith('>', open + 4)) i = open + 5;
      else if (html.startsWith('->', open + 4)) i = open + 6;
      else {
        const close = html.indexOf('-->', open + 4);
        if (close < 0) break;
        i = close + 3;
      }
    } else if (next === '!' || next === '?') {
      // Doctype or bogus comment: up to the next '>'.
      const close = html.indexOf('>', open + 2);
      if (close < 0) break;
      i = close + 1;
    } else if (next === '/') {
      if (!isLetter(html[open + 2] ?? '')) {
        // `</>` is dropped; `</` followed by anything else is a bogus comment.
        const close = html.indexOf('>', open + 2);
        if (close < 0) break;
        i = close + 1;
        continue;
      }
      // An end tag's attributes are read (and dropped) like a start tag's, quotes included.
      const end = readTag(html, open + 2);
      if (end === undefined) break;
      i = end.end;
    } else if (isLetter(next)) {
      const parsed = readTag(html, open + 1);
      if (parsed === undefined) break;
      if (wanted.has(parsed.tag.name)) tags.push(parsed.tag);
      i = parsed.end;
      if (parsed.tag.name === 'plaintext') break;
      if (RAW_TEXT.has(parsed.tag.name)) {
        lower ??= html.toLowerCase();
        const close = rawTextEnd(html, lower, i, parsed.tag.name);
        if (close < 0) break;
        i = close;
      }
    } else {
      // A '<' that opens nothing is text.
      i = open + 1;
    }
  }
  return tags;
}
