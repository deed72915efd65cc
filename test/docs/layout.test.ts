/**
 * proxy/README.md's layout table is what `npm run lint` enforces: the same layers in the same
 * order as .dependency-cruiser.cjs, and every folder of proxy/ in exactly one layer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../proxy/observability/package-root.js';

const ROOT = packageRoot();

interface Rule {
  name: string;
  from: { path?: string };
  to: { path?: string };
}

/** The layers of the import rules, top to bottom: the top one is what the first rule forbids. */
function enforcedLayers(): string[] {
  const config = createRequire(import.meta.url)(path.join(ROOT, '.dependency-cruiser.cjs')) as {
    forbidden: Rule[];
  };
  const layered = config.forbidden.filter((rule) => rule.name.startsWith('layer-'));
  return ['cli', ...layered.map((rule) => rule.name.slice('layer-'.length))];
}

/** The `layer` column of the table under "## Layout", in order. */
function documentedLayers(): Array<{ layer: string; where: string }> {
  const readme = readFileSync(path.join(ROOT, 'proxy', 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Layout\n');
  expect(start, 'proxy/README.md has a "## Layout" section').toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(/^\| ([a-z-]+) \| (.+?) \|/gm)]
    .filter((match) => match[1] !== 'layer' && match[1] !== '---')
    .map((match) => ({ layer: match[1] as string, where: match[2] as string }));
}

describe('the layers of proxy/', () => {
  it('are documented in the order dependency-cruiser enforces them', () => {
    expect(documentedLayers().map((row) => row.layer)).toEqual(enforcedLayers());
  });

  it('account for every folder of proxy/', () => {
    const documented = documentedLayers()
      .map((row) => row.where)
      .join(' ');
    const folders = readdirSync(path.join(ROOT, 'proxy'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    for (const folder of folders) expect(documented).toContain(`\`proxy/${folder}/\``);
  });

  it('the top layer rule really names the layer above it (the first rule forbids cli)', () => {
    const config = createRequire(import.meta.url)(path.join(ROOT, '.dependency-cruiser.cjs')) as {
      forbidden: Rule[];
    };
    const first = config.forbidden.find((rule) => rule.name.startsWith('layer-'));
    expect(first?.to.path).toContain('proxy/cli');
  });
});
