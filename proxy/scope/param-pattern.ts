/**
 * Parameter patterns from the config are compiled once, anchored, and refused when they look
 * prone to catastrophic backtracking: policy evaluation runs on every token request, on input
 * the client controls.
 */
const MAX_PATTERN_LENGTH = 256;
/** A quantified group that itself contains a quantifier: (a+)+, (a*)*, (\d{1,3})+ ... */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/;
const BACKREFERENCE = /\\[1-9]|\\k</;

export function paramPatternError(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return `pattern longer than ${MAX_PATTERN_LENGTH} characters`;
  }
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    return `invalid regular expression: ${(error as Error).message}`;
  }
  if (NESTED_QUANTIFIER.test(pattern)) {
    return 'nested quantifiers such as (a+)+ can backtrack catastrophically; simplify the pattern';
  }
  if (BACKREFERENCE.test(pattern)) return 'backreferences are not allowed';
  return undefined;
}

/** Compiles a validated pattern so that it must match the whole parameter. */
export function compileParamPattern(pattern: string): RegExp {
  const problem = paramPatternError(pattern);
  if (problem) throw new Error(`invalid parameter pattern: ${problem}`);
  return new RegExp(`^(?:${pattern})$`, 'u');
}
