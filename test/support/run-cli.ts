/**
 * Runs the built `scopegate` command to completion and returns what it printed and its exit code
 * (for commands that end by themselves: check, keygen, explain, schema, usage errors).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI_PATH } from './cli-process.js';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: readonly string[],
  options: { cwd?: string; cli?: string } = {},
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [options.cli ?? CLI_PATH, ...args], {
      timeout: 30_000,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: unknown; stdout: string; stderr: string };
    if (typeof failure.code !== 'number') throw error;
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}
