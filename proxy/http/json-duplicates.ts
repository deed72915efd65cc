/**
 * Finds a member name repeated within one JSON object, at any depth. JSON.parse silently keeps
 * the last of repeated names, while other parsers keep the first: a body, a token header or a
 * token payload that repeats a name means different things to different readers, so callers
 * refuse it.
 *
 * One pass over the text, no regular expression, no backtracking: linear in the input whatever
 * it holds (a regex scan of strings is quadratic on input such as `"\"\"\"...`).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function decodeName(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    // Not a valid string: the document fails JSON.parse anyway; compare it as written.
    return raw;
  }
}

/** The first member name repeated within one object, or undefined. Never throws. */
export function duplicateJsonKey(text: string): string | undefined {
  /** One entry per open container: the names seen so far for objects, null for arrays. */
  const open: Array<Set<string> | null> = [];
  const length = text.length;
  let i = 0;
  while (i < length) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      const start = i + 1;
      let escaped = false;
      i = start;
      while (i < length) {
        const inner = text.charCodeAt(i);
        if (inner === QUOTE) break;
        if (inner === BACKSLASH) {
          escaped = true;
          i += 2;
        } else {
          i += 1;
        }
      }
      const end = Math.min(i, length);
      i = end + 1;
      const names = open[open.length - 1];
      if (!names) continue;
      // A string inside an object is a member name when a colon follows it.
      let next = i;
      while (next < length && isJsonWhitespace(text.charCodeAt(next))) next++;
      if (next >= length || text.charCodeAt(next) !== COLON) continue;
      const raw = text.slice(start, end);
      const name = escaped ? decodeName(raw) : raw;
      if (names.has(name)) return name;
      names.add(name);
      continue;
    }
    if (code === 0x7b) open.push(new Set());
    else if (code === 0x5b) open.push(null);
    else if (code === 0x7d || code === 0x5d) open.pop();
    i += 1;
  }
  return undefined;
}
