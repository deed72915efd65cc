/** Durations as operators write them: `250ms`, `5s`, `10m`, `1h`, `2d`, or combined (`1h30m`). */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const DURATION_PATTERN = '^(?:[0-9]+(?:ms|s|m|h|d))+$';
const PART = /([0-9]+)(ms|s|m|h|d)/g;

/** Parses a duration string into milliseconds; returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!new RegExp(DURATION_PATTERN).test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  return total;
}
