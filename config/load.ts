/**
 * Reads, interpolates and validates a config file, reporting every problem at once, each with
 * its dotted path and, where the YAML gives one, its line.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Document, isMap, isScalar, LineCounter, type Node, parseDocument, visit } from 'yaml';
import type * as z from 'zod';
import { interpolateEnv } from './interpolate.js';
import { closestKey, issueWording, knownKeysAt } from './issue-wording.js';
import { type Config, configSchema } from './schema.js';
import { readSecretFiles, withSecretValues } from './secret-files.js';
import { describeYamlError } from './yaml-errors.js';

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file, for reloads and for resolving relative key paths. */
  file: string;
}

/**
 * A failed load keeps what could be read of the file (`raw`, interpolated, unvalidated) so that
 * `check` can report problems the schema cannot see, such as missing key files, in the same run.
 */
export type LoadResult =
  | { ok: true; loaded: LoadedConfig }
  | { ok: false; errors: string[]; raw?: unknown; file?: string };

export class ConfigError extends Error {
  constructor(readonly errors: string[]) {
    super(`invalid configuration:\n  ${errors.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type PathSegment = string | number;

function dotted(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(top level)' : out;
}

function lineOf(doc: Document, lines: LineCounter, segments: readonly PathSegment[], key?: string) {
  const node = doc.getIn(segments, true) as Node | undefined;
  let offset: number | undefined;
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
    offset = (pair?.key as Node | undefined)?.range?.[0];
  } else {
    offset = node?.range?.[0];
  }
  if (offset === undefined && segments.length > 0) return lineOf(doc, lines, segments.slice(0, -1));
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  doc: Document,
  lines: LineCounter,
  label: string,
): string[] {
  const out: Array<{ line: number; text: string }> = [];
  const push = (line: number | undefined, text: string) =>
    out.push({ line: line ?? 0, text: `${label}${line ? `:${line}` : ''}: ${text}` });
  for (const issue of issues) {
    const segments = issue.path.filter(
      (segment): segment is PathSegment => typeof segment !== 'symbol',
    );
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(configSchema, segments);
      for (const key of issue.keys) {
        const line = lineOf(doc, lines, segments, key);
        const guess = closestKey(key, known);
        const hint = guess === undefined ? '' : ` (did you mean \`${guess}\`?)`;
        push(line, `${dotted([...segments, key])}: unknown key${hint}`);
      }
      continue;
    }
    const line = lineOf(doc, lines, segments);
    push(line, `${dotted(segments)}: ${issueWording(issue)}`);
  }
  // In file order, so the list reads top to bottom like the file.
  return out.sort((a, b) => a.line - b.line).map((entry) => entry.text);
}

type ParsedText = { ok: true; config: Config } | { ok: false; errors: string[]; raw?: unknown };

/**
 * Validates YAML text; `label` names the source in messages. `_file` secrets are named, not read:
 * loadConfigFile reads them.
 */
export function parseConfigText(
  text: string,
  label: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedText {
  return parseLocated(text, label, env).parsed;
}

/** parseConfigText, and where a path is in the text (`label:line`, or `label`). */
function parseLocated(
  text: string,
  label: string,
  env: Readonly<Record<string, string | undefined>>,
): { parsed: ParsedText; locate: (segments: readonly PathSegment[]) => string } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const locate = (segments: readonly PathSegment[]) => {
    const line = lineOf(doc, lines, segments);
    return `${label}${line ? `:${line}` : ''}`;
  };
  return { parsed: parseDocumentText(doc, lines, text, label, env), locate };
}

function parseDocumentText(
  doc: Document,
  lines: LineCounter,
  text: string,
  label: string,
  env: Readonly<Record<string, string | undefined>>,
): ParsedText {
  const errors: string[] = [];
  for (const error of [...doc.errors, ...doc.warnings]) {
    errors.push(describeYamlError(error, doc, lines, text, label));
  }
  if (doc.errors.length > 0) return { ok: false, errors };

  // Values whose interpolation failed already have an error; schema errors on them are noise.
  const unresolved = new Set<Node>();
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const result = interpolateEnv(node.value, env);
      if (result.ok) {
        node.value = result.value;
        return;
      }
      unresolved.add(node);
      const line = node.range ? lines.linePos(node.range[0]).line : undefined;
      errors.push(
        `${label}${line ? `:${line}` : ''}: environment variable ${result.missing.join(', ')} is not set`,
      );
    },
  });

  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, errors: [...errors, `${label}: the configuration must be a mapping`] };
  }
  // reportInput: the wording says what was found ("must be text, not the number 8080").
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const relevant = parsed.error.issues.filter((issue) => {
      const segments = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
      return !unresolved.has(doc.getIn(segments, true) as Node);
    });
    errors.push(...describeIssues(relevant, doc, lines, label));
  }
  if (errors.length > 0 || !parsed.success) return { ok: false, errors, raw };
  return { ok: true, config: parsed.data };
}

/**
 * The line of a setting in a config file, for problems found after validation (a file it names
 * that cannot be used): the same `FILE:LINE: path:` form as the schema's.
 */
export async function lineOfSetting(
  file: string,
  segments: readonly PathSegment[],
): Promise<number | undefined> {
  try {
    const lines = new LineCounter();
    const doc = parseDocument(await readFile(file, 'utf8'), { lineCounter: lines });
    return lineOf(doc, lines, segments);
  } catch {
    return undefined;
  }
}

export async function loadConfigFile(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<LoadResult> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, errors: [`${file}: cannot read the config file (${code})`] };
  }
  const { parsed, locate } = parseLocated(text, file, env);
  if (!parsed.ok && parsed.raw === undefined) return { ...parsed, file: absolute };
  // Read even when the schema refused the file, so that `check` lists every problem in one run.
  const secrets = await readSecretFiles(parsed.ok ? parsed.config : parsed.raw, absolute);
  const secretErrors = secrets.problems.map((problem) => `${locate(problem.at)}: ${problem.text}`);
  if (!parsed.ok) return { ...parsed, errors: [...parsed.errors, ...secretErrors], file: absolute };
  if (secretErrors.length > 0) {
    return { ok: false, errors: secretErrors, raw: parsed.config, file: absolute };
  }
  return { ok: true, loaded: { config: withSecretValues(parsed.config, secrets), file: absolute } };
}
