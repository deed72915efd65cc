/** The smallest valid configuration, and the errors a broken variant of it gets. */
import { parseConfigText } from '../../config/load.js';

export const MINIMAL = `listen: "127.0.0.1:8080"
issuer: "https://auth.example.com"
upstream:
  url: "https://tenant.example.com"
signing:
  keys:
    - kid: "k1"
      alg: ES256
      private_key_file: "k1.pem"
`;

/** The errors of a config that must be invalid, labelled `cfg.yaml`. */
export function errorsOf(text: string, env: Record<string, string> = {}): string[] {
  const result = parseConfigText(text, 'cfg.yaml', env);
  if (result.ok) throw new Error('expected the config to be invalid');
  return result.errors;
}
