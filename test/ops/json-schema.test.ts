import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  configJsonSchema,
  configJsonSchemaText,
  type JsonSchemaNode,
} from '../../config/reference.js';
import { packageRoot } from '../../proxy/observability/package-root.js';
import { CLI_PATH } from '../support/cli-process.js';

const SCHEMA_FILE = path.join(packageRoot(), 'config', 'scopegate.schema.json');
const REGENERATE =
  'regenerate it: npm run build && node dist/proxy/cli.js schema > config/scopegate.schema.json';

/** Every key path a YAML document uses, checked against the schema's properties. */
function unknownKeys(value: unknown, schema: JsonSchemaNode, at = ''): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => unknownKeys(item, schema.items ?? {}, `${at}[${index}]`));
  }
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, member]) => {
    const child = schema.properties?.[key];
    const where = at === '' ? key : `${at}.${key}`;
    return child ? unknownKeys(member, child, where) : [where];
  });
}

describe('config/scopegate.schema.json', () => {
  it('is exactly what the schema generates', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(committed, `config/scopegate.schema.json is stale; ${REGENERATE}`).toBe(
      configJsonSchemaText(),
    );
  });

  it('is what `scopegate schema` prints', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI_PATH, 'schema']);
    expect(stdout).toBe(configJsonSchemaText());
  });

  it('describes the file as users write it: strict objects, required keys, defaults', () => {
    const schema = configJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['issuer', 'upstream', 'signing']);
    expect(schema.properties?.server?.properties?.shutdown_grace?.default).toBe('20s');
    // Durations are strings on input (zod's output side would say milliseconds).
    expect(schema.properties?.upstream?.properties?.timeout?.type).toBe('string');
    // No format a strict validator would reject as unknown.
    expect(JSON.stringify(schema)).not.toContain('"format":"starts_with"');
  });

  it('knows every key the shipped configurations use', async () => {
    const schema = configJsonSchema();
    const demo = parse(await readFile(path.join(packageRoot(), 'config', 'demo.yaml'), 'utf8'));
    expect(unknownKeys(demo, schema)).toEqual([]);
  });
});
