/** `server` settings as the schema fills them in, for building a listener without a config file. */
import { parseConfigText } from '../../config/load.js';
import type { Config } from '../../config/schema.js';

export function minimalServerSettings(): Config['server'] {
  const parsed = parseConfigText(
    [
      'issuer: https://gateway.test',
      'upstream: { url: "https://idp.test", token_path: /oauth/token }',
      'signing: { keys: [{ kid: k, alg: ES256, private_key_file: k.pem, status: active }] }',
    ].join('\n'),
    '/tmp/scopegate.yaml',
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.config.server;
}
