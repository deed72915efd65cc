/**
 * The command line's contract: usage text, exit codes and which options each command takes.
 * Exit codes: 0 done, 1 failed (bad config, unreadable file, runtime error), 2 bad arguments,
 * 3 `explain`: something requested would be refused.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;

export const USAGE = `usage: scopegate <command> [options]

commands:
  serve   --config FILE            run the gateway
  check   --config FILE            validate a configuration, keys included (exit 0 when valid)
  keygen  [--alg ES256] [--kid ID] [--out FILE] [--force]
          [--status active|next|retired] [--config FILE]
                                   write a new private signing key (PKCS#8 PEM) and print the
                                   signing.keys entry for it (status: active when the config
                                   has no active key, else next)
  explain --config FILE --client ID --grant TYPE --granted "..." [--requested "..."]
          [--audience AUD] [--claims JSON] [--json]
                                   show how a token request's scopes would be decided
                                   (exit 3 when something requested would be refused)
  schema  [--markdown]             print the configuration's JSON Schema (or its reference table)
  demo                             run the gateway beside an embedded demo upstream

options:
  -h, --help                       this text
  -v, --version                    the version

exit codes: 0 done, 1 failed, 2 bad arguments, 3 explain: something requested is refused
`;

/** A mistake in the command line itself: reported with a pointer to --help, exit 2. */
export class UsageError extends Error {}

/** The options each command accepts; anything else is a usage error. */
export const COMMAND_OPTIONS = {
  serve: ['config'],
  check: ['config'],
  keygen: ['alg', 'kid', 'out', 'force', 'status', 'config'],
  explain: ['config', 'client', 'grant', 'granted', 'requested', 'audience', 'claims', 'json'],
  schema: ['markdown'],
  demo: [],
} as const satisfies Record<string, readonly string[]>;

export type Command = keyof typeof COMMAND_OPTIONS;

export function isCommand(name: string): name is Command {
  return Object.hasOwn(COMMAND_OPTIONS, name);
}
