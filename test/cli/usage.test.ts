/**
 * The command line's usage contract, table-driven: exit 0 for help and version, 2 for every
 * mistake in the command line itself (whichever command), with a message on stderr.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../proxy/observability/package-root.js';
import { runCli } from '../support/run-cli.js';

describe('scopegate usage', { timeout: 60_000 }, () => {
  it('with no command prints the usage on stderr and exits 2', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('usage: scopegate <command> [options]');
  });

  it.each([['--help'], ['-h'], ['help'], ['check', '--help']])(
    '%s prints the usage on stdout and exits 0',
    async (...args) => {
      const result = await runCli(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('usage: scopegate <command> [options]');
      // Every option explain takes is listed, --json included.
      expect(result.stdout).toMatch(/explain --config FILE[\s\S]*\[--json\]/);
      expect(result.stdout).toContain('[--status active|next|retired]');
    },
  );

  it.each([['--version'], ['-v'], ['version']])('%s prints the version', async (flag) => {
    const manifest = JSON.parse(await readFile(path.join(packageRoot(), 'package.json'), 'utf8'));
    const result = await runCli([flag]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${manifest.version}\n`);
  });

  it.each<[string[], RegExp]>([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['keygen', '--kid'], /'--kid <value>' argument missing/],
    [['keygen', '--alg', 'HS256'], /unsupported algorithm HS256/],
    [['keygen', '--out', 'x.pem', '--status', 'primary'], /--status must be one of: active/],
    [['keygen', '--status', 'next'], /give --out FILE too/],
    [['check'], /check needs --config FILE/],
    [['serve'], /serve needs --config FILE/],
    [['check', '--config', 'a.yaml', '--alg', 'ES256'], /check does not take --alg/],
    [['check', '--config', 'a.yaml', 'extra'], /Unexpected argument 'extra'/],
    [['serve', '--nope'], /Unknown option '--nope'/],
    [['explain', '--grant', 'client_credentials', '--granted', 'a'], /--config FILE is required/],
    [['explain', '--config', 'a.yaml', '--grant', 'bogus', '--granted', 'a'], /--grant must be/],
    [['schema', '--json'], /schema does not take --json/],
  ])('%j is a usage error: exit 2', async (args, message) => {
    const result = await runCli(args);
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
  });
});
