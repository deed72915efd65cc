/**
 * `npx scopegate` inside the clone runs the built CLI through its `bin` entry, as a program: npm
 * links nothing for the root package, so the file itself must carry the execute bit that tsc does
 * not set (the build sets it). Also: the npm scripts run on the Node.js line the package pins
 * (the `node` devDependency, which npm puts first on a script's PATH), whatever the system has.
 * Reads the already built tree (`npm test` builds first).
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../proxy/observability/package-root.js';

const run = promisify(execFile);
const ROOT = packageRoot();

interface Manifest {
  version: string;
  bin: Record<string, string>;
  engines: { node: string };
  devDependencies: Record<string, string>;
}

let manifest: Manifest;
beforeAll(async () => {
  manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
});

describe('the built command', () => {
  it('is executable by everyone who can read it, and runs as a program', async () => {
    const cli = path.join(ROOT, manifest.bin.scopegate ?? 'missing');
    const { mode } = await stat(cli);
    expect(mode & 0o111).toBe(0o111);
    await expect(access(cli, constants.X_OK)).resolves.toBeUndefined();
    // Executed directly: the kernel reads the shebang, as `npx scopegate` and a global install do.
    const { stdout } = await run(cli, ['--version'], { cwd: ROOT });
    expect(stdout).toBe(`${manifest.version}\n`);
  });

  it('runs through npx inside the clone', async () => {
    const { stdout } = await run('npx', ['--no-install', 'scopegate', '--version'], {
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(stdout).toBe(`${manifest.version}\n`);
  }, 70_000);
});

describe('the runtime', () => {
  it('supports maintained Node.js lines only, and pins the shipped one for npm scripts', () => {
    // 22.19: the oldest Node.js 22 release undici 8 (the upstream client) runs on.
    expect(manifest.engines.node).toBe('>=22.19.0');
    // Exactly one version: npm scripts (start, test, bench) all run on it.
    expect(manifest.devDependencies.node).toMatch(/^26\.\d+\.\d+$/);
  });

  it('npm scripts run on the pinned Node.js, first on their PATH', async () => {
    const { stdout } = await run('npm', ['exec', '--no-install', '--', 'node', '--version'], {
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(stdout.trim()).toBe(`v${manifest.devDependencies.node}`);
  }, 70_000);
});
