/**
 * The command-line contract (design.md): `check` and `serve` exit non-zero with clear messages on
 * a bad config; `keygen` writes a usable key. Runs the built CLI (`npm test` builds first).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrivateKey } from '../../proxy/keys/key-material.js';
import { CLI_PATH as CLI } from '../support/cli-process.js';
import { runCli as cli } from '../support/run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(keyFile: string, extra = ''): string {
  return `listen: "127.0.0.1:0"
issuer: "https://auth.example.com"
upstream:
  url: "http://127.0.0.1:9"
  token_path: "/oauth/token"
  issuer: "https://tenant.example.com/"
  jwks_uri: "http://127.0.0.1:9/jwks"
signing:
  keys:
    - kid: "k1"
      alg: ES256
      private_key_file: "${keyFile}"
${extra}`;
}

describe('scopegate keygen', () => {
  it('writes an owner-only PKCS#8 key and prints the config snippet', async () => {
    const out = path.join(dir, 'keys', 'k1.pem');
    const result = await cli(['keygen', '--alg', 'ES256', '--kid', 'k1', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('kid: "k1"');
    expect(result.stdout).toContain('alg: ES256');
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const key = parsePrivateKey(await readFile(out, 'utf8'));
    expect(key.asymmetricKeyType).toBe('ec');
  });

  it('refuses to overwrite an existing key without --force', async () => {
    const out = path.join(dir, 'keys', 'k1.pem');
    const result = await cli(['keygen', '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('exists (use --force)');
  });

  it('refuses an unknown algorithm as a usage error', async () => {
    const result = await cli(['keygen', '--alg', 'HS256']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unsupported algorithm HS256');
  });
});

describe('scopegate check', () => {
  it('accepts a valid config with loadable keys', async () => {
    const file = path.join(dir, 'good.yaml');
    await writeFile(file, config('keys/k1.pem'));
    const result = await cli(['check', '--config', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('configuration is valid');
    expect(result.stdout).toContain('k1 ES256 active');
  });

  it('names every problem with its path and line, and exits 1', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, config('keys/k1.pem', 'tokens:\n  scope_format: list\nsurprise: 1\n'));
    const result = await cli(['check', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${file}:14: tokens.scope_format: must be one of: string, array`,
    );
    expect(result.stderr).toContain(`${file}:15: surprise: unknown key`);
  });

  it('reports an unreadable key file', async () => {
    const file = path.join(dir, 'nokey.yaml');
    await writeFile(file, config('keys/absent.pem'));
    const result = await cli(['check', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'signing.keys[0] (kid k1): cannot read keys/absent.pem (ENOENT)',
    );
  });

  it('reports a missing config file', async () => {
    const result = await cli(['check', '--config', path.join(dir, 'nope.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot read the config file (ENOENT)');
  });
});

describe('scopegate serve', () => {
  it('exits non-zero with a clear message on a bad config', async () => {
    const file = path.join(dir, 'serve-bad.yaml');
    await writeFile(file, config('keys/k1.pem', 'tokens:\n  max_lifetime: forever\n'));
    const result = await cli(['serve', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('invalid configuration');
    expect(result.stderr).toContain('tokens.max_lifetime: invalid duration');
  });

  it('logs one line when listening, then stops on SIGTERM', async () => {
    const file = path.join(dir, 'serve-good.yaml');
    await writeFile(file, config('keys/k1.pem'));
    const child = spawn(process.execPath, [CLI, 'serve', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const listening = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('scopegate listening on')) resolve();
      });
      child.once('exit', () => reject(new Error(`exited early: ${output}`)));
    });
    await listening;
    const line = output.split('\n').find((entry) => entry.includes('scopegate listening on'));
    expect(JSON.parse(line as string)).toMatchObject({ level: 30, msg: expect.any(String) });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('explains usage for an unknown command', async () => {
    const result = await cli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
  });
});
