/**
 * `scopegate keygen` prints the signing.keys entry that works where it is pasted: the first key
 * active (a config with it passes `check`), a key added to a config that has an active one `next`
 * (the rotation runbook's first step), `--status` to choose. Runs the built CLI.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-keygen-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HEAD = `issuer: "https://auth.example.com"
upstream:
  url: "http://127.0.0.1:9"
  token_path: "/oauth/token"
  issuer: "https://tenant.example.com/"
  jwks_uri: "http://127.0.0.1:9/jwks"
`;

/** The YAML lines of keygen's output (everything after its two lines of prose). */
function snippetOf(stdout: string): string {
  return stdout.split('\n').slice(2).join('\n');
}

// Several CLI processes per test: generous on a loaded machine.
describe('scopegate keygen', { timeout: 90_000 }, () => {
  it('prints a first key as active: pasted into a new config, check passes', async () => {
    const config = path.join(dir, 'first', 'scopegate.yaml');
    const result = await runCli(
      ['keygen', '--out', 'keys/k1.pem', '--kid', 'k1', '--config', config],
      { cwd: dir },
    );
    // --out is relative to the working directory; the entry names it relative to the config.
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('status: active');
    expect(result.stdout).toContain('private_key_file: "../keys/k1.pem"');
    await mkdir(path.dirname(config), { recursive: true });
    await writeFile(config, `${HEAD}${snippetOf(result.stdout)}`);
    const check = await runCli(['check', '--config', config]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('k1 ES256 active');
  });

  it('without a config prints the absolute key path and status active', async () => {
    const out = path.join(dir, 'solo.pem');
    const result = await runCli(['keygen', '--out', out, '--kid', 'solo']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`private_key_file: "${out}"`);
    expect(result.stdout).toMatch(/^ {6}status: active {3}# signs new tokens/m);
    const config = path.join(dir, 'solo.yaml');
    await writeFile(config, `${HEAD}${snippetOf(result.stdout)}`);
    expect((await runCli(['check', '--config', config])).code).toBe(0);
  });

  it('adds a key to a config with an active key as next: pasted under signing.keys, check passes', async () => {
    const config = path.join(dir, 'rotate.yaml');
    const first = await runCli(['keygen', '--out', path.join(dir, 'r1.pem'), '--kid', 'r1']);
    await writeFile(config, `${HEAD}${snippetOf(first.stdout)}`);
    const second = await runCli([
      'keygen',
      '--out',
      path.join(dir, 'r2.pem'),
      '--kid',
      'r2',
      '--config',
      config,
    ]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`add it to signing.keys in ${config}:`);
    expect(second.stdout).toContain('status: next');
    expect(second.stdout).toContain('private_key_file: "r2.pem"');
    await writeFile(config, `${await readFile(config, 'utf8')}${snippetOf(second.stdout)}`);
    const check = await runCli(['check', '--config', config]);
    expect(check.stderr).toBe('');
    expect(check.stdout).toContain('r1 ES256 active, r2 ES256 next');
  });

  it('prints the entry at the indentation the config already uses', async () => {
    const config = path.join(dir, 'compact.yaml');
    const first = path.join(dir, 'c1.pem');
    await runCli(['keygen', '--out', first, '--kid', 'c1']);
    await writeFile(
      config,
      `${HEAD}signing:\n  keys:\n  - kid: c1\n    alg: ES256\n    private_key_file: c1.pem\n    status: active\n`,
    );
    const second = await runCli(['keygen', '--out', path.join(dir, 'c2.pem'), '--config', config]);
    expect(second.stdout).toMatch(/^ {2}- kid: "/m);
    await writeFile(config, `${await readFile(config, 'utf8')}${snippetOf(second.stdout)}`);
    const check = await runCli(['check', '--config', config]);
    expect(check.stderr).toBe('');
    expect(check.stdout).toMatch(/c1 ES256 active, \S+ ES256 next/);
  });

  it.each(['active', 'next', 'retired'])('--status %s is printed as asked', async (status) => {
    const result = await runCli([
      'keygen',
      '--out',
      path.join(dir, `s-${status}.pem`),
      '--status',
      status,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^ {6}status: ${status} `, 'm'));
  });
});
