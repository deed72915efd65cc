#!/usr/bin/env node
/** The `scopegate` command: serve, check, keygen, explain, schema, demo. */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import { checkConfig } from './cli/check.js';
import { keygen } from './cli/keygen.js';
import { startScopegate } from './instance.js';

const USAGE = `usage: scopegate <command> [options]

commands:
  serve   --config FILE            run the gateway
  check   --config FILE            validate a configuration (exit 0 when valid)
  keygen  [--alg ES256] [--kid ID] [--out FILE] [--force]
                                   write a new private signing key (PKCS#8 PEM)
  explain --config FILE --client ID --grant TYPE --granted "..." [--requested "..."]
          [--audience AUD] [--claims JSON]
                                   show how a token request's scopes would be decided
  schema  [--markdown]             print the configuration's JSON Schema (or its reference table)
  demo                             run the gateway beside an embedded demo upstream
`;

function fail(message: string, code = 2): never {
  process.stderr.write(`scopegate: ${message}\n`);
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string', short: 'c' },
      alg: { type: 'string' },
      kid: { type: 'string' },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      client: { type: 'string' },
      grant: { type: 'string' },
      granted: { type: 'string' },
      requested: { type: 'string' },
      audience: { type: 'string' },
      claims: { type: 'string' },
      json: { type: 'boolean' },
      markdown: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || command === undefined || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  switch (command) {
    case 'serve': {
      if (!values.config) fail('serve needs --config FILE');
      try {
        await startScopegate({ configFile: values.config, handleSignals: true });
      } catch (error) {
        if (error instanceof ConfigError) fail(error.message, 1);
        fail((error as Error).message, 1);
      }
      return;
    }
    case 'check': {
      if (!values.config) fail('check needs --config FILE');
      const result = await checkConfig(values.config);
      (result.ok ? process.stdout : process.stderr).write(`${result.lines.join('\n')}\n`);
      process.exitCode = result.ok ? 0 : 1;
      return;
    }
    case 'keygen': {
      const result = await keygen(values).catch((error: NodeJS.ErrnoException) =>
        fail(error.code === 'EEXIST' ? `${values.out} exists (use --force)` : error.message, 1),
      );
      process.stdout.write(result.text);
      return;
    }
    case 'explain': {
      const { runExplain } = await import('./cli/explain.js');
      process.exitCode = await runExplain(values);
      return;
    }
    case 'schema': {
      const { schemaOutput } = await import('./cli/schema.js');
      process.stdout.write(schemaOutput(values));
      return;
    }
    case 'demo': {
      const { runDemo } = await import('./demo/run-demo.js');
      await runDemo();
      return;
    }
    default:
      fail(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  fail(error instanceof Error ? error.message : String(error), 1);
});
