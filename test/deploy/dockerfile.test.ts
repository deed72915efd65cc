/**
 * Static checks of deploy/Dockerfile (no Docker engine needed): stages, base images, user,
 * ports and the command line.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployPath, ROOT, readText } from './artifacts.js';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into instructions, joining continuation lines and dropping comments. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (buffer === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (buffer !== '' && line.trimStart().startsWith('#')) return;
    if (buffer === '') start = index + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buffer);
    if (!match) throw new Error(`Dockerfile:${start}: cannot parse "${buffer}"`);
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start });
    buffer = '';
  });
  if (buffer !== '') throw new Error('Dockerfile: dangling line continuation');
  return out;
}

function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const asIndex = words.findIndex((word) => word.toUpperCase() === 'AS');
      stages.push({
        image: words[0]!,
        name: asIndex >= 0 ? words[asIndex + 1] : undefined,
        instructions: [],
      });
      continue;
    }
    const current = stages.at(-1);
    if (!current) throw new Error(`Dockerfile:${instruction.line}: instruction before FROM`);
    current.instructions.push(instruction);
  }
  return stages;
}

function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new Error(`expected the exec (JSON array) form, got ${args}`);
  }
  return parsed;
}

function fromFlag(instruction: Instruction): string | undefined {
  return /--from=(\S+)/.exec(instruction.args)?.[1];
}

const text = readText(deployPath('Dockerfile'));
const instructions = parseDockerfile(text);
const stages = stagesOf(instructions);
const final = stages.at(-1)!;
const finalOf = (keyword: string) =>
  final.instructions.filter((instruction) => instruction.keyword === keyword);

describe('deploy/Dockerfile', () => {
  it('is a multi-stage build with named build, prod-deps, allocator and runtime stages', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.map((stage) => stage.name)).toEqual([
      'build',
      'prod-deps',
      'allocator',
      'runtime',
    ]);
  });

  it('preloads the jemalloc it copies from the allocator stage, a Debian package of its release', () => {
    const allocator = stages.find((stage) => stage.name === 'allocator')!;
    const install = allocator.instructions
      .filter((instruction) => instruction.keyword === 'RUN')
      .map((instruction) => instruction.args)
      .join('\n');
    expect(install).toMatch(/apt-get install -y --no-install-recommends libjemalloc2\b/);
    // The same Debian release as the runtime, so the library matches the runtime's libc.
    expect(allocator.image).toBe(final.image);
    const preload = finalOf('ENV')
      .map((instruction) => /\bLD_PRELOAD=(\S+)/.exec(instruction.args)?.[1])
      .find((value) => value !== undefined);
    expect(preload).toBe('/usr/local/lib/libjemalloc.so.2');
    const copied = finalOf('COPY').map((copy) => copy.args);
    expect(copied).toContain(`--from=allocator /libjemalloc.so.2 ${preload}`);
  });

  it('bases every stage on a pinned Node.js 26 (the current LTS line) image, never latest', () => {
    for (const stage of stages) {
      expect(stage.image).toMatch(/^node:26(?:[.-][\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/);
      expect(stage.image).not.toMatch(/:latest\b/);
    }
    expect(final.image).toMatch(/^node:26-(?:[a-z]+-slim|alpine[\d.]*)$/);
  });

  it('compiles in the build stage and installs production dependencies without scripts', () => {
    const runs = (name: string) =>
      stages
        .find((stage) => stage.name === name)!
        .instructions.filter((instruction) => instruction.keyword === 'RUN')
        .map((instruction) => instruction.args)
        .join('\n');
    expect(runs('build')).toMatch(/\bnpm ci\b/);
    expect(runs('build')).toMatch(/\bnpm run build\b/);
    expect(runs('prod-deps')).toMatch(/\bnpm ci\b.*--omit=dev/);
    expect(runs('prod-deps')).toMatch(/\bnpm ci\b.*--ignore-scripts/);
    expect(finalOf('RUN')).toEqual([]);
  });

  it('assembles the runtime stage from the other stages only', () => {
    const copies = finalOf('COPY');
    const names = new Set(stages.map((stage) => stage.name));
    for (const copy of copies) {
      const from = fromFlag(copy);
      expect(from, `line ${copy.line} copies from the build context`).toBeDefined();
      expect(names.has(from)).toBe(true);
    }
    const sources = copies.map((copy) => `${fromFlag(copy)} ${copy.args}`).join('\n');
    expect(sources).toMatch(/^prod-deps .*node_modules/m);
    expect(sources).toMatch(/^build .*\/dist\b/m);
    // package.json carries "type": "module", without which Node cannot load dist/.
    expect(sources).toMatch(/^build .*package\.json/m);
    expect(sources).toMatch(/^build .*config/m);
  });

  it('generates an SBOM of the shipped dependencies and ships it in the image', () => {
    const prodDeps = stages
      .find((stage) => stage.name === 'prod-deps')!
      .instructions.filter((instruction) => instruction.keyword === 'RUN')
      .map((instruction) => instruction.args)
      .join('\n');
    // After the production install, from the same tree: the SBOM is what the image carries.
    expect(prodDeps).toMatch(
      /npm ci\b[^&]*--omit=dev[\s\S]*&&\s*npm sbom\b.*--omit=dev.*--sbom-format cyclonedx > \/src\/sbom\.cdx\.json/,
    );
    const copied = finalOf('COPY').map((copy) => `${fromFlag(copy)} ${copy.args}`);
    expect(copied).toContain('prod-deps --from=prod-deps /src/sbom.cdx.json ./sbom.cdx.json');
  });

  it('copies sources that exist in the repository', () => {
    const build = stages.find((stage) => stage.name === 'build')!;
    for (const copy of build.instructions.filter((i) => i.keyword === 'COPY' && !fromFlag(i))) {
      const words = copy.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      for (const source of words.slice(0, -1)) {
        expect(existsSync(path.join(ROOT, source)), `${source} (line ${copy.line})`).toBe(true);
      }
    }
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      type?: string;
      bin?: Record<string, string>;
    };
    expect(pkg.type).toBe('module');
    expect(Object.values(pkg.bin ?? {})).toContain('dist/proxy/cli.js');
  });

  it('runs as a non-root numeric user', () => {
    const users = finalOf('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args;
    expect(user).toMatch(/^\d+(?::\d+)?$/);
    const [uid, gid] = user.split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    if (gid !== undefined) expect(Number(gid)).toBeGreaterThan(0);
  });

  it('exposes the public (8080) and admin (9090) ports', () => {
    const ports = finalOf('EXPOSE').flatMap((instruction) => instruction.args.split(/\s+/));
    expect(ports).toEqual(expect.arrayContaining(['8080', '9090']));
  });

  it('runs dist/proxy/cli.js serve with the mounted configuration', () => {
    expect(execForm(finalOf('ENTRYPOINT').at(-1)!.args)).toEqual([
      'node',
      '--max-semi-space-size=4',
      'dist/proxy/cli.js',
    ]);
    expect(execForm(finalOf('CMD').at(-1)!.args)).toEqual([
      'serve',
      '--config',
      '/etc/scopegate/scopegate.yaml',
    ]);
  });

  it('has a health check that needs no tools missing from the slim image', () => {
    const healthcheck = finalOf('HEALTHCHECK').at(-1);
    expect(healthcheck).toBeDefined();
    const command = execForm(healthcheck!.args.replace(/^.*?\bCMD\s+/, ''));
    expect(command[0]).toBe('node');
    expect(text).toMatch(/SCOPEGATE_HEALTHCHECK_URL=http:\/\/127\.0\.0\.1:9090\/healthz/);
  });
});
