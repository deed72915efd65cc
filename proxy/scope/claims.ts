/**
 * What a `claim` validator compares a parameter with: the claim's string or number value, or the
 * strings and numbers of an array claim. Anything else (objects, booleans, null) matches nothing,
 * so a validator on a claim of the wrong shape fails closed.
 */
export function claimValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' && Number.isFinite(value)) return [String(value)];
  if (Array.isArray(value)) {
    return value.flatMap((item) =>
      typeof item === 'string' || (typeof item === 'number' && Number.isFinite(item))
        ? [String(item)]
        : [],
    );
  }
  return [];
}

function matchesValue(value: unknown, param: string): boolean {
  if (typeof value === 'string') return value === param;
  return typeof value === 'number' && Number.isFinite(value) && String(value) === param;
}

/**
 * True when the token's own (not inherited) claim `name` is, or contains, `param`. The same
 * answer as claimValues(...).includes(param), without building the list on every check.
 */
export function claimIncludes(
  claims: Readonly<Record<string, unknown>>,
  name: string,
  param: string,
): boolean {
  if (!Object.hasOwn(claims, name)) return false;
  const value = claims[name];
  if (Array.isArray(value)) return value.some((item) => matchesValue(item, param));
  return matchesValue(value, param);
}
