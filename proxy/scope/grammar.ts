/**
 * RFC 6749 §3.3: scope = scope-token *( SP scope-token ),
 * scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
 */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

export type ScopeParseResult = { ok: true; scopes: string[] } | { ok: false; reason: string };

/**
 * Parses a scope parameter strictly: single spaces between tokens, no leading or trailing space,
 * only the characters the grammar allows. Repeated tokens collapse (a set, order kept).
 */
export function parseScopeParameter(
  value: string,
  maxTokens = Number.POSITIVE_INFINITY,
): ScopeParseResult {
  // Counted before splitting: a megabyte of `a a a ...` is refused without building the list.
  let separators = 0;
  for (let at = value.indexOf(' '); at >= 0; at = value.indexOf(' ', at + 1)) {
    separators += 1;
    if (separators >= maxTokens) return { ok: false, reason: `more than ${maxTokens} scopes` };
  }
  const tokens = value.split(' ');
  for (const token of tokens) {
    if (token === '') {
      return { ok: false, reason: 'scope tokens must be separated by single spaces' };
    }
    if (!isScopeToken(token)) {
      return {
        ok: false,
        reason: 'scope contains a character RFC 6749 section 3.3 does not allow',
      };
    }
  }
  return { ok: true, scopes: [...new Set(tokens)] };
}
