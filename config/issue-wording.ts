/**
 * Config errors in the project's own words instead of the schema library's ("Invalid option:
 * expected one of ..." becomes "must be one of: forward, omit, templates"), and a "did you mean"
 * for an unknown key that is a near miss of a known one.
 */
import type * as z from 'zod';

type Issue = z.core.$ZodIssue;

function describeValue(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return `the text ${JSON.stringify(input)}`;
  return `${typeof input === 'number' ? 'the number' : typeof input} ${String(input)}`;
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

function plural(count: number | bigint, one: string, many: string): string {
  return `${count} ${Number(count) === 1 ? one : many}`;
}

function sizeWording(origin: string, limit: number | bigint, bound: 'least' | 'most'): string {
  if (origin === 'string') {
    if (bound === 'least' && Number(limit) === 1) return 'must not be empty';
    return `must be at ${bound} ${plural(limit, 'character', 'characters')}`;
  }
  if (origin === 'array' || origin === 'set') {
    if (bound === 'least' && Number(limit) === 1) return 'must list at least one entry';
    return `must list at ${bound} ${plural(limit, 'entry', 'entries')}`;
  }
  return `must be at ${bound} ${String(limit)}`;
}

/**
 * The schema's own messages are kept; the library's defaults (which start with a capital
 * "Invalid", "Too" or "Expected") are reworded.
 */
function isLibraryWording(message: string): boolean {
  return /^(Invalid|Too (big|small)|Expected|Unrecognized)/.test(message);
}

function formatWording(issue: Extract<Issue, { code: 'invalid_format' }>): string {
  switch (issue.format) {
    case 'starts_with':
      return `must start with "${(issue as { prefix?: string }).prefix ?? ''}"`;
    case 'url':
      return 'must be a URL';
    case 'datetime':
      return 'must be an RFC 3339 date and time, e.g. 2026-12-01T00:00:00Z';
    case 'regex':
      return `must match ${String(issue.pattern ?? 'the expected pattern')}`;
    default:
      return `must be a valid ${issue.format}`;
  }
}

/** The message for one issue, without its path. */
export function issueWording(issue: Issue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  if (!isLibraryWording(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of: ${issue.values.map(String).join(', ')}`;
    case 'invalid_type':
      return `must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${describeValue(issue.input)}`;
    case 'too_small':
      return sizeWording(issue.origin, issue.minimum, 'least');
    case 'too_big':
      return sizeWording(issue.origin, issue.maximum, 'most');
    case 'invalid_format':
      return formatWording(issue);
    case 'invalid_union':
      return 'is none of the accepted forms';
    default:
      return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  }
}

/** Optimal string alignment distance: edits, with a swap of neighbours counting as one. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The known key closest to an unknown one, when it is close enough to be a slip. */
export function closestKey(unknown: string, known: readonly string[]): string | undefined {
  const folded = unknown.toLowerCase().replace(/-/g, '_');
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = editDistance(folded, key);
    if (best === undefined || distance < best.distance) best = { key, distance };
  }
  if (best === undefined) return undefined;
  // Up to a third of the key may differ (at least one, at most three edits).
  const allowed = Math.min(3, Math.max(1, Math.floor(best.key.length / 3)));
  return best.distance <= allowed ? best.key : undefined;
}

interface SchemaNode {
  _zod: { def: { type: string } & Record<string, unknown> };
}

function isSchemaNode(value: unknown): value is SchemaNode {
  const def = (value as { _zod?: { def?: { type?: unknown } } } | null)?._zod?.def;
  return typeof def?.type === 'string';
}

/** Unwraps optional/default/pipe wrappers down to the schema that holds the shape. */
function unwrap(node: SchemaNode): SchemaNode {
  let current = node;
  for (let depth = 0; depth < 16; depth++) {
    const def = current._zod.def;
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!isSchemaNode(inner)) return current;
    current = inner;
  }
  return current;
}

/** The keys a mapping at `path` may have, read from the schema (empty when unknown). */
export function knownKeysAt(schema: unknown, path: ReadonlyArray<string | number>): string[] {
  if (!isSchemaNode(schema)) return [];
  let node = unwrap(schema);
  for (const segment of path) {
    const def = node._zod.def;
    let next: unknown;
    if (def.type === 'object' && typeof segment === 'string') {
      next = (def.shape as Record<string, unknown> | undefined)?.[segment];
    } else if (def.type === 'array') {
      next = def.element;
    }
    if (!isSchemaNode(next)) return [];
    node = unwrap(next);
  }
  const def = node._zod.def;
  return def.type === 'object' ? Object.keys((def.shape as Record<string, unknown>) ?? {}) : [];
}
