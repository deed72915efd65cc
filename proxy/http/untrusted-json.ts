/**
 * The one way scopegate reads JSON it did not write (upstream bodies and tokens, client bodies,
 * token payloads): every object comes back without a prototype, and a member named `__proto__`
 * is refused.
 *
 * Why: JSON.parse makes `__proto__` an ordinary own member, but the moment code copies members
 * with assignment (`target[name] = value`, Object.assign) it sets the target's prototype
 * instead, so inherited values appear where a claim was looked up and a claim silently vanishes.
 * Without a prototype, `constructor`, `toString`, `hasOwnProperty` or `prototype` members are
 * plain data and nothing is inherited. `__proto__` is still refused: no OAuth or OIDC message
 * has such a member, and whatever scopegate signs must not hand one to a reader that copies
 * claims carelessly.
 */

/** The text is not JSON, or it holds a member named `__proto__`. */
export class UntrustedJsonRefused extends Error {
  constructor(readonly reason: 'syntax' | 'prototype_member') {
    super(
      reason === 'syntax' ? 'the text is not JSON' : 'the JSON text has a member named __proto__',
    );
    this.name = 'UntrustedJsonRefused';
  }
}

const PROTOTYPE_MEMBER = '__proto__';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Takes the prototype off every object inside `value`, in place; throws UntrustedJsonRefused
 * on a `__proto__` member. Iterative, so nesting as deep as JSON.parse accepts cannot exhaust
 * the stack. For values a library parsed from outside input (a verified JWT's payload).
 */
export function withoutPrototypes<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (Array.isArray(item)) {
      for (const element of item) if (typeof element === 'object') pending.push(element);
    } else if (isPlainObject(item)) {
      if (Object.hasOwn(item, PROTOTYPE_MEMBER)) {
        throw new UntrustedJsonRefused('prototype_member');
      }
      Object.setPrototypeOf(item, null);
      for (const name in item) {
        const member = item[name];
        if (typeof member === 'object') pending.push(member);
      }
    }
  }
  return value;
}

/** JSON.parse for text from outside; throws UntrustedJsonRefused. */
export function parseUntrustedJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UntrustedJsonRefused('syntax');
  }
  return withoutPrototypes(value);
}

/** parseUntrustedJson, then: a JSON object, or undefined for any other JSON value. */
export function parseUntrustedObject(text: string): Record<string, unknown> | undefined {
  const value = parseUntrustedJson(text);
  return isPlainObject(value) ? value : undefined;
}

/**
 * What was wrong with a text parseUntrustedJson refused, to follow the name of what was read
 * ("the upstream token response is not JSON"). Anything else thrown reads as "is not JSON".
 */
export function refusedJsonPhrase(error: unknown): string {
  return error instanceof UntrustedJsonRefused && error.reason === 'prototype_member'
    ? 'has a member named __proto__'
    : 'is not JSON';
}
