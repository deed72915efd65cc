/**
 * The README's "Opaque upstream tokens" and "Token exchange" sections, checked against the code:
 * every YAML example is valid for the real config loader (with its commented-out keys showing
 * their defaults), the scrypt one-liner makes a hash the config accepts and the exchange
 * endpoint verifies, and every error the examples print is one the code can produce.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseConfigText } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { secretMatches } from '../../proxy/endpoints/token/exchange/secret-hash.js';
import { packageRoot } from '../../proxy/observability/package-root.js';

const SECTIONS = [
  '## Opaque upstream tokens (introspection)',
  '## Token exchange: narrowing a token a service already holds',
];
const BASE = {
  issuer: 'https://auth.example.com',
  upstream: { url: 'https://tenant.example.com' },
  signing: { keys: [{ kid: 'k1', alg: 'ES256', private_key_file: 'k1.pem' }] },
};
const ENV = { INTROSPECTION_SECRET: 'from-the-environment' };

let readme: string;

/** From the heading to the next heading of the same level. */
function section(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}" section`);
  const rest = readme.slice(start + heading.length + 2);
  const next = /^## /m.exec(rest);
  return next ? rest.slice(0, next.index) : rest;
}

function fenced(text: string, language: string): string[] {
  const fence = new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm');
  return [...text.matchAll(fence)].map((match) => match[1] ?? '');
}

type Fragment = Record<string, unknown>;

/** The example on top of the smallest valid config, through the real loader. */
function load(example: string): Config {
  const fragment = parse(example) as Fragment;
  const upstream = { ...BASE.upstream, ...((fragment.upstream as Fragment | undefined) ?? {}) };
  const result = parseConfigText(stringify({ ...BASE, ...fragment, upstream }), 'README', ENV);
  if (!result.ok)
    throw new Error(`README example is not a valid config:\n${result.errors.join('\n')}`);
  return result.config;
}

/** `    # key: value   # note` lines of a YAML example, uncommented. */
function uncommented(example: string): string {
  return example.replace(/^(\s*)# ([a-z_]+: )/gm, '$1$2');
}

/** Every TypeScript source of the gateway, as one text to search. */
async function sources(): Promise<string> {
  const root = path.join(packageRoot(), 'proxy');
  const files = (await readdir(root, { recursive: true })).filter((file) => file.endsWith('.ts'));
  const texts = await Promise.all(files.map((file) => readFile(path.join(root, file), 'utf8')));
  return texts.join('\n');
}

beforeAll(async () => {
  // The two sections live beside the code they describe.
  const docs = await Promise.all(
    [
      ['proxy', 'upstream', 'README.md'],
      ['proxy', 'endpoints', 'README.md'],
    ].map((parts) => readFile(path.join(packageRoot(), ...parts), 'utf8')),
  );
  readme = `\n${docs.join('\n')}`;
});

describe('README: opaque upstream tokens and token exchange', () => {
  it('shows YAML the config loader accepts', () => {
    const examples = SECTIONS.flatMap((heading) => fenced(section(heading), 'yaml'));
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const example of examples) load(example);
  });

  it('shows the introspection defaults in its commented-out keys', () => {
    const [example] = fenced(section(SECTIONS[0] as string), 'yaml');
    const shown = load(uncommented(example ?? '')).upstream;
    const plain = load(example ?? '').upstream;
    expect(shown.token_format).toBe('opaque');
    expect(shown.introspection?.client_secret).toBe(ENV.INTROSPECTION_SECRET);
    const { endpoint, ...rest } = shown.introspection ?? { endpoint: undefined };
    expect(endpoint).toMatch(/^https:\/\//);
    expect(rest).toEqual(plain.introspection);
  });

  it('shows the retarget rule and exchange client the prose describes', () => {
    const [example] = fenced(section(SECTIONS[1] as string), 'yaml');
    const exchange = load(example ?? '').token_exchange;
    expect(exchange.clients.map((client) => client.client_id)).toEqual(['reporting-worker']);
    expect(exchange.retarget).toEqual([
      {
        from: 'https://api.example.com',
        to: ['https://reports.example.com'],
        clients: ['reporting-worker'],
      },
    ]);
  });

  it('gives a hash one-liner whose output the config accepts and the exchange verifies', async () => {
    const [command] = fenced(section(SECTIONS[1] as string), 'sh');
    const script = /^node -e '([^']+)' 'the-secret'$/m.exec(command ?? '')?.[1];
    expect(script, 'the one-liner: node -e SCRIPT SECRET').toBeDefined();
    const hash = execFileSync(process.execPath, ['-e', script as string, 'the-secret'], {
      encoding: 'utf8',
    }).trim();
    const config = load(
      stringify({ token_exchange: { clients: [{ client_id: 'c', secret_hash: hash }] } }),
    );
    expect(config.token_exchange.clients[0]?.secret_hash).toBe(hash);
    expect(await secretMatches('the-secret', hash)).toBe(true);
    expect(await secretMatches('another-secret', hash)).toBe(false);
  });

  it('prints only error descriptions the code produces', async () => {
    const code = await sources();
    const printed = SECTIONS.flatMap((heading) => fenced(section(heading), 'console')).flatMap(
      (block) => [...block.matchAll(/"error_description":"([^"]+)"/g)].map((m) => m[1] ?? ''),
    );
    expect(printed.length).toBeGreaterThan(0);
    for (const description of printed) {
      // A description that names the request's own values: its fixed part, up to a ': '.
      const cuts = [...description.matchAll(/: /g)].map((match) => (match.index ?? 0) + 2);
      const candidates = [description, ...cuts.reverse().map((cut) => description.slice(0, cut))];
      expect(
        candidates.some((text) => code.includes(text)),
        description,
      ).toBe(true);
    }
  });
});
