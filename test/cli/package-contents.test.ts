/**
 * What `npm pack` ships is the product: the compiled proxy/ and config/ trees, the example and
 * demo configs, the JSON Schema, the README. No test files, no test fixtures (the Auth0
 * emulator's fault injection and diagnostic routes live in test/fixtures/), no benchmarks.
 * Reads the file list of the already built package (`npm test` builds first).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../proxy/observability/package-root.js';

const run = promisify(execFile);
const ROOT = packageRoot();

/** Every shipped path must match one of these. */
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^dist\/(proxy|config)\/.+\.js(\.map)?$/,
  /^config\/[^/]+\.(yaml|json)$/,
];

/** And none of these, wherever it sits. */
const FORBIDDEN = [
  /(^|\/)test\//,
  /\.test\.js/,
  /(^|\/)(fixtures|bench|support)\//,
  /token-faults|diagnostic-routes|auth0-emulator/,
  /\.ts$/,
];

let files: string[] = [];

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dist', 'proxy', 'cli.js')), 'build first: npm run build').toBe(
    true,
  );
  // --ignore-scripts: `prepare` would rebuild dist/ under the feet of tests running beside this one.
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [pack] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
  files = (pack?.files ?? []).map((file) => file.path).sort();
}, 60_000);

describe('npm pack', () => {
  it('ships the CLI, the demo and the configs', () => {
    for (const needed of [
      'package.json',
      'README.md',
      'dist/proxy/cli.js',
      'dist/proxy/demo/run-demo.js',
      'dist/proxy/demo/demo-upstream.js',
      'dist/config/schema.js',
      'config/demo.yaml',
      'config/scopegate.schema.json',
    ]) {
      expect(files).toContain(needed);
    }
  });

  it('ships nothing but the product', () => {
    const strays = files.filter(
      (file) =>
        !ALLOWED.some((pattern) => pattern.test(file)) ||
        FORBIDDEN.some((pattern) => pattern.test(file)),
    );
    expect(strays).toEqual([]);
  });
});
