/**
 * Parameter names and values as the most lenient reader of a request or response would read
 * them. A check that compares names must see `id%5Ftoken%5Fhint`, ` RESPONSE_TYPE` and
 * `response%255Ftype` as the names they decode to, or it is a filter a spelling walks around.
 */

/** Layers of escaping undone at most: more than any encoder applies by accident. */
export const MAX_DECODE_LAYERS = 3;

const PERCENT = /%([0-9A-Fa-f]{2})/g;

/** `%XX` escapes decoded to the character of that code (ASCII is all a name check needs). */
export function percentDecodeOnce(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(PERCENT, (_match, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** The name as a lenient server compares it: escapes undone, trimmed, lower case. */
export function canonicalParamName(raw: string): string {
  let name = raw;
  for (let layer = 0; layer < MAX_DECODE_LAYERS; layer++) {
    const next = percentDecodeOnce(name.replace(/\+/g, ' '));
    if (next === name) break;
    name = next;
  }
  return name.trim().toLowerCase();
}

/** A parameter value with the same escapes undone (case and spaces kept). */
export function canonicalParamValue(raw: string): string {
  let value = raw;
  for (let layer = 0; layer < MAX_DECODE_LAYERS; layer++) {
    const next = percentDecodeOnce(value.replace(/\+/g, ' '));
    if (next === value) break;
    value = next;
  }
  return value;
}
