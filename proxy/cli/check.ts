/** `scopegate check`: the whole configuration, keys included, validated without serving. */
import { loadConfigFile } from '../../config/load.js';
import { KeyLoadError, loadSigningKeys } from '../keys/signing-keys.js';

export async function checkConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ ok: boolean; lines: string[] }> {
  const result = await loadConfigFile(file, env);
  if (!result.ok) return { ok: false, lines: result.errors };
  const { config } = result.loaded;
  try {
    const keys = await loadSigningKeys(config.signing.keys, result.loaded.file);
    return {
      ok: true,
      lines: [
        `${file}: configuration is valid`,
        `  issuer ${config.issuer}, upstream ${config.upstream.url} (scope_request ${config.upstream.scope_request})`,
        `  signing keys: ${keys.keys.map((key) => `${key.kid} ${key.alg} ${key.status}`).join(', ')}`,
        `  ${config.clients.length} client rule(s), ${config.scopes.length} scope polic(ies)`,
      ],
    };
  } catch (error) {
    if (error instanceof KeyLoadError) {
      return { ok: false, lines: error.problems.map((problem) => `${file}: ${problem}`) };
    }
    throw error;
  }
}
