#!/usr/bin/env node
/** The `scopegate` command: serve, check, keygen, explain, schema, demo (see cli/usage.ts). */
import { parseArgs } from 'node:util';
import { checkConfig } from './cli/check.js';
import { keygen } from './cli/keygen.js';
import { COMMAND_OPTIONS, type Command, EXIT, isCommand, USAGE, UsageError } from './cli/usage.js';
import { packageVersion } from './observability/version.js';
import { serve } from './server/serve.js';

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  alg: { type: 'string' },
  kid: { type: 'string' },
  out: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
  status: { type: 'string' },
  client: { type: 'string' },
  grant: { type: 'string' },
  granted: { type: 'string' },
  requested: { type: 'string' },
  audience: { type: 'string' },
  claims: { type: 'string' },
  json: { type: 'boolean' },
  markdown: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Options = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];

/** Parses the options, refusing any the command does not take. */
function parseOptions(command: Command, args: string[]): Options {
  let values: Options;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    // node:util's parse errors (unknown option, missing value, stray argument) are usage errors.
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((error as Error).message);
    throw error;
  }
  const accepted: readonly string[] = COMMAND_OPTIONS[command];
  for (const name of Object.keys(values)) {
    if (name !== 'help' && !accepted.includes(name)) {
      throw new UsageError(`${command} does not take --${name}`);
    }
  }
  return values;
}

function requireConfig(command: Command, values: Options): string {
  if (!values.config) throw new UsageError(`${command} needs --config FILE`);
  return values.config;
}

/** Runs one command; returns its exit code, or undefined while it keeps running (serve, demo). */
async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(USAGE);
    return EXIT.usage;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (!isCommand(command)) throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  const values = parseOptions(command, rest);
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  switch (command) {
    case 'serve':
      await serve(requireConfig(command, values));
      return undefined;
    case 'check': {
      const result = await checkConfig(requireConfig(command, values));
      (result.ok ? process.stdout : process.stderr).write(`${result.lines.join('\n')}\n`);
      return result.ok ? EXIT.ok : EXIT.failed;
    }
    case 'keygen': {
      const result = await keygen(values);
      process.stdout.write(result.text);
      return EXIT.ok;
    }
    case 'explain': {
      const { runExplain } = await import('./cli/explain.js');
      return runExplain(values);
    }
    case 'schema': {
      const { schemaOutput } = await import('./cli/schema.js');
      process.stdout.write(schemaOutput(values));
      return EXIT.ok;
    }
    case 'demo': {
      const { runDemo } = await import('./demo/run-demo.js');
      await runDemo();
      return undefined;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      const hint = message.includes(USAGE) ? '' : '\n(scopegate --help lists commands and options)';
      process.stderr.write(`scopegate: ${message}${hint}\n`);
      process.exit(EXIT.usage);
    }
    process.stderr.write(`scopegate: ${message}\n`);
    process.exit(EXIT.failed);
  },
);
