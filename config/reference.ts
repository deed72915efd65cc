/**
 * The configuration reference, derived from the schema that validates configs (config/schema.ts):
 * the JSON Schema shipped as config/scopegate.schema.json for editors, and the README's table of
 * keys. Both are generated, never written by hand, so neither can drift from validation.
 */
import * as z from 'zod';
import { DURATION_PATTERN } from './duration.js';
import { configSchema } from './schema.js';

/** The parts of a JSON Schema node the reference reads. */
export interface JsonSchemaNode {
  $schema?: string;
  title?: string;
  description?: string;
  type?: string;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | JsonSchemaNode;
  /** A value of one of these forms (`server.workers`: `auto` or a number). */
  anyOf?: JsonSchemaNode[];
  const?: unknown;
}

/** Formats of JSON Schema 2020-12; zod names some of its own checks as formats (starts_with). */
const STANDARD_FORMATS = new Set([
  'date-time',
  'date',
  'time',
  'duration',
  'email',
  'idn-email',
  'hostname',
  'idn-hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'iri',
  'iri-reference',
  'uuid',
  'uri-template',
  'json-pointer',
  'relative-json-pointer',
  'regex',
]);

/** Drops non-standard `format` values: strict validators reject unknown formats. */
function standardFormatsOnly(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(standardFormatsOnly);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (key === 'format' && typeof member === 'string' && !STANDARD_FORMATS.has(member)) continue;
    out[key] = standardFormatsOnly(member);
  }
  return out;
}

/** The JSON Schema of the configuration file as a user writes it (zod's input side). */
export function configJsonSchema(): JsonSchemaNode {
  const generated = z.toJSONSchema(configSchema, { io: 'input' });
  const schema = standardFormatsOnly(JSON.parse(JSON.stringify(generated))) as JsonSchemaNode;
  return { $schema: schema.$schema, title: 'scopegate configuration', ...schema };
}

/** The text of config/scopegate.schema.json. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Escapes what would break a table cell or turn `accounts.*.*` into emphasis. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\*/g, '\\*').replace(/\n/g, ' ');
}

function code(value: string): string {
  return `\`${value.replace(/\|/g, '\\|')}\``;
}

function enumText(values: readonly unknown[]): string {
  return values.map((value) => code(String(value))).join(' \\| ');
}

function typeText(node: JsonSchemaNode): string {
  if (node.enum) return enumText(node.enum);
  if (node.const !== undefined) return code(String(node.const));
  if (node.anyOf) return node.anyOf.map(typeText).join(' or ');
  switch (node.type) {
    case 'string':
      if (node.pattern === DURATION_PATTERN) return 'duration';
      if (node.format === 'uri') return 'URL';
      if (node.format === 'date-time') return 'date-time (RFC 3339)';
      return 'string';
    case 'integer':
    case 'number': {
      const { minimum, maximum } = node;
      if (minimum !== undefined && maximum !== undefined && maximum < MAX_SAFE) {
        return `${node.type} (${minimum}–${maximum})`;
      }
      if (minimum !== undefined) return `${node.type} (≥ ${minimum})`;
      return node.type;
    }
    case 'array': {
      const items = node.items ?? {};
      if (items.enum) return `list of ${enumText(items.enum)}`;
      if (items.type === 'object') return 'list of objects';
      return `list of ${items.type ?? 'values'}s`;
    }
    default:
      return node.type ?? 'any';
  }
}

function flowValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flowValue).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

function defaultText(node: JsonSchemaNode, required: boolean): string {
  if (node.default !== undefined) return code(flowValue(node.default));
  return required ? '**required**' : '—';
}

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

function rows(node: JsonSchemaNode, prefix: string): Row[] {
  const out: Row[] = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    const required = node.required?.includes(name) ?? false;
    if (child.type === 'object' && child.properties) {
      out.push(...rows(child, key));
      continue;
    }
    out.push({
      key: code(key),
      type: typeText(child),
      default: defaultText(child, required),
      description: cell(child.description ?? ''),
    });
    if (child.type === 'array' && child.items?.type === 'object') {
      out.push(...rows(child.items, `${key}[]`));
    }
  }
  return out;
}

/** The README's configuration reference: a table of every key, from the JSON Schema. */
export function configReferenceMarkdown(schema: JsonSchemaNode = configJsonSchema()): string {
  const lines = [
    // The README introduces the table (durations, environment variables, the JSON Schema).
    '"required" on a key inside a list (such as `signing.keys[]`) means required in each entry.',
    '',
    '| Key | Type | Default | Description |',
    '|---|---|---|---|',
    ...rows(schema, '').map(
      (row) => `| ${row.key} | ${row.type} | ${row.default} | ${row.description} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
