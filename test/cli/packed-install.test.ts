/**
 * The supported install outside the clone: `npm pack`'s tarball installed into an empty
 * directory, and the `scopegate` it puts on the path run from there: --version, keygen, check, and
 * serve in front of the demo upstream until SIGTERM. Also checks that the README's word for the
 * line serve logs when it listens is what serve logs.
 * Packs the already built tree (`npm test` builds first); npm fetches the runtime dependencies.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_AUDIENCES, DEMO_CLIENTS } from '../../proxy/demo/demo-clients.js';
import { type RunningDemoUpstream, startDemoUpstream } from '../../proxy/demo/demo-upstream.js';
import { packageRoot } from '../../proxy/observability/package-root.js';
import { type CliResult, runCli } from '../support/run-cli.js';

const run = promisify(execFile);
const ROOT = packageRoot();

let work: string;
let app: string;
let bin: string;
let upstream: RunningDemoUpstream;

/** The installed command, run from the install directory. */
function scopegate(args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: app, cli: bin });
}

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dist', 'proxy', 'cli.js')), 'build first: npm run build').toBe(
    true,
  );
  work = await mkdtemp(path.join(os.tmpdir(), 'scopegate-packed-'));
  // --ignore-scripts: `prepare` would rebuild dist/ under the feet of tests running beside this one.
  const packed = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
  const tarball = path.join(work, info?.filename ?? 'missing.tgz');
  app = path.join(work, 'app');
  await mkdir(app);
  await writeFile(
    path.join(app, 'package.json'),
    '{ "name": "scopegate-install", "private": true }\n',
  );
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=dev', tarball],
    { cwd: app, timeout: 110_000 },
  );
  bin = path.join(app, 'node_modules', '.bin', 'scopegate');
  upstream = await startDemoUpstream({ clients: DEMO_CLIENTS });
}, 120_000);

afterAll(async () => {
  await upstream?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed package, installed in an empty directory', () => {
  it('puts scopegate on the path, without tests or fixtures', async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    const result = await scopegate(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${manifest.version}\n`);
    const installed = path.join(app, 'node_modules', 'scopegate');
    expect(existsSync(path.join(installed, 'dist', 'proxy', 'cli.js'))).toBe(true);
    expect(existsSync(path.join(installed, 'dist', 'test'))).toBe(false);
    expect(existsSync(path.join(installed, 'test'))).toBe(false);
  });

  it('runs keygen, check and serve in front of the demo upstream, and stops on SIGTERM', async () => {
    const keygen = await scopegate([
      'keygen',
      '--out',
      'keys/gateway.pem',
      '--kid',
      'gateway',
      '--config',
      'scopegate.yaml',
    ]);
    expect(keygen.code).toBe(0);
    const entry = keygen.stdout.split('\n').slice(2).join('\n');
    const config = `listen: "127.0.0.1:0"
issuer: "https://auth.example.com"
upstream:
  url: "${upstream.url}"
  scope_request: omit
${entry}`;
    await writeFile(path.join(app, 'scopegate.yaml'), config);

    const check = await scopegate(['check', '--config', 'scopegate.yaml']);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('gateway ES256 active');

    const child = spawn(bin, ['serve', '--config', 'scopegate.yaml'], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      let output = '';
      const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not listening: ${output}`)), 30_000);
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          for (const line of output.split('\n')) {
            if (!line.includes('scopegate listening on')) continue;
            clearTimeout(timer);
            resolve(JSON.parse(line) as Record<string, unknown>);
          }
        });
        child.once('exit', () => reject(new Error(`exited early: ${output}`)));
      });
      const publicUrl = String(listening.listen);
      expect(listening.msg).toBe(`scopegate listening on ${publicUrl}`);

      // The README says what this line is; it must still be true.
      const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
      const serveLine = readme.split('\n').find((line) => line.startsWith('npx scopegate serve'));
      const promised = /"(scopegate listening on) URL"/.exec(serveLine ?? '')?.[1];
      expect(promised, `README line: ${serveLine}`).toBeDefined();
      expect(String(listening.msg).startsWith(`${promised} `)).toBe(true);

      const answer = await fetch(`${publicUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: 'm2m-reporting',
          client_secret: 'demo-secret-reporting',
          audience: DEMO_AUDIENCES.api,
          scope: 'read:claims',
        }).toString(),
      });
      const body = (await answer.json()) as Record<string, unknown>;
      expect(answer.status).toBe(200);
      expect(body.scope).toBe('read:claims');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
