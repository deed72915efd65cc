/**
 * Parameter patterns from the config are compiled once, anchored, and refused when they could
 * backtrack catastrophically: policy evaluation runs on every token request, on parameters the
 * client chooses. The check is structural and deliberately conservative (a few safe patterns are
 * refused too; the message says how to simplify them):
 *
 * - a repeated group (`*`, `+`, `{n,}`, `{n,m}` with m > 1) must not contain a quantifier or an
 *   alternation: `(a+)+`, `((a)+)+`, `(a|a)*`, `(?:\d{1,3}){2}` are exponential on a near miss;
 * - at most MAX_UNBOUNDED unbounded quantifiers in all: `\d*\d*\d*\d*x` is polynomial with a
 *   degree that grows with each one;
 * - no backreferences (matching with them is NP-hard in general).
 *
 * Parameters longer than MAX_PATTERN_INPUT are refused before any pattern runs, which bounds
 * what the remaining polynomial cases can cost.
 */
const MAX_PATTERN_LENGTH = 256;
const MAX_UNBOUNDED = 3;
export const MAX_PATTERN_INPUT = 256;

interface GroupFrame {
  /** Contains a quantifier that repeats (or may skip) something. */
  quantified: boolean;
  alternation: boolean;
}

interface Quantifier {
  /** Characters the quantifier (with a lazy `?`) spans. */
  length: number;
  /** Can repeat its atom more than once. */
  repeats: boolean;
  unbounded: boolean;
}

/** Reads the quantifier starting at `index`, if there is one. */
function readQuantifier(pattern: string, index: number): Quantifier | undefined {
  const char = pattern[index];
  let length: number;
  let repeats: boolean;
  let unbounded: boolean;
  if (char === '*' || char === '+') {
    length = 1;
    repeats = true;
    unbounded = true;
  } else if (char === '?') {
    length = 1;
    repeats = false;
    unbounded = false;
  } else if (char === '{') {
    const braces = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(index));
    if (!braces) return undefined;
    length = braces[0].length;
    const min = Number(braces[1]);
    const max = braces[2] === undefined ? min : braces[3] === '' ? Infinity : Number(braces[3]);
    repeats = max > 1;
    unbounded = max === Infinity;
  } else {
    return undefined;
  }
  if (pattern[index + length] === '?') length += 1;
  return { length, repeats, unbounded };
}

/** Index just past the escape starting at `index` (a backslash). */
function skipEscape(pattern: string, index: number): number {
  const next = pattern[index + 1];
  if ((next === 'p' || next === 'P' || next === 'u') && pattern[index + 2] === '{') {
    const close = pattern.indexOf('}', index + 3);
    return close === -1 ? pattern.length : close + 1;
  }
  return index + 2;
}

/** Index just past the character class starting at `index` (a `[`). */
function skipClass(pattern: string, index: number): number {
  let at = index + 1;
  while (at < pattern.length && pattern[at] !== ']') {
    at = pattern[at] === '\\' ? skipEscape(pattern, at) : at + 1;
  }
  return at + 1;
}

/** Length of a group opener: `(`, `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`, `(?<name>`. */
function groupOpenerLength(pattern: string, index: number): number {
  if (pattern[index + 1] !== '?') return 1;
  const named = /^\(\?<[A-Za-z_$][\w$]*>/.exec(pattern.slice(index));
  if (named) return named[0].length;
  return pattern[index + 2] === '<' ? 4 : 3;
}

function structuralProblem(pattern: string): string | undefined {
  const stack: GroupFrame[] = [{ quantified: false, alternation: false }];
  let unbounded = 0;
  let index = 0;
  while (index < pattern.length) {
    const char = pattern[index] as string;
    let atomEnd: number;
    let group: GroupFrame | undefined;
    if (char === '\\') {
      if (/^\\(?:[1-9]|k<)/.test(pattern.slice(index, index + 3))) {
        return 'backreferences are not allowed';
      }
      atomEnd = skipEscape(pattern, index);
    } else if (char === '[') {
      atomEnd = skipClass(pattern, index);
    } else if (char === '(') {
      stack.push({ quantified: false, alternation: false });
      index += groupOpenerLength(pattern, index);
      continue;
    } else if (char === ')') {
      group = stack.pop();
      atomEnd = index + 1;
    } else if (char === '|') {
      (stack.at(-1) as GroupFrame).alternation = true;
      index += 1;
      continue;
    } else {
      atomEnd = index + 1;
    }
    const frame = stack.at(-1) as GroupFrame;
    const quantifier = readQuantifier(pattern, atomEnd);
    if (group) {
      if (quantifier?.repeats && (group.quantified || group.alternation)) {
        return 'nested quantifiers or a repeated alternation, such as (a+)+ or (a|b)*, can backtrack catastrophically; simplify the pattern';
      }
      // What the closed group contained is, for the enclosing group, contained in it too.
      frame.quantified ||= group.quantified;
      frame.alternation ||= group.alternation;
    }
    if (quantifier) {
      frame.quantified = true;
      if (quantifier.unbounded) unbounded += 1;
      index = atomEnd + quantifier.length;
    } else {
      index = atomEnd;
    }
  }
  if (unbounded > MAX_UNBOUNDED) {
    return `more than ${MAX_UNBOUNDED} unbounded quantifiers (*, +, {n,}); use bounded ones such as {1,12}`;
  }
  return undefined;
}

/** Why a parameter pattern is refused, or undefined when it may be used. */
export function paramPatternError(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return `pattern longer than ${MAX_PATTERN_LENGTH} characters`;
  }
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    return `invalid regular expression: ${(error as Error).message}`;
  }
  return structuralProblem(pattern);
}

/** Compiles a validated pattern so that it must match the whole parameter. */
export function compileParamPattern(pattern: string): RegExp {
  const problem = paramPatternError(pattern);
  if (problem) throw new Error(`invalid parameter pattern: ${problem}`);
  return new RegExp(`^(?:${pattern})$`, 'u');
}
