/** `scopegate check`: the whole configuration, keys included, validated without serving. */
import { loadConfigFile } from '../../config/load.js';
import { KeyLoadError, loadSigningKeys } from '../keys/signing-keys.js';
import { UpstreamDiscovery } from '../upstream/discovery.js';
import {
  type ResolvedTokenPath,
  resolveTokenPath,
  TokenPathError,
} from '../upstream/token-path.js';

function describeTokenPath(resolved: ResolvedTokenPath): string {
  if (resolved.source === 'discovery') return `${resolved.path} (from upstream discovery)`;
  if (resolved.unconfirmed)
    return `${resolved.path} (upstream.token_path; ${resolved.unconfirmed})`;
  return `${resolved.path} (upstream.token_path, matches upstream discovery)`;
}

export async function checkConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ ok: boolean; lines: string[] }> {
  const result = await loadConfigFile(file, env);
  if (!result.ok) return { ok: false, lines: result.errors };
  const { config } = result.loaded;
  try {
    const keys = await loadSigningKeys(config.signing.keys, result.loaded.file);
    const tokenPath = await resolveTokenPath(
      config.upstream,
      new UpstreamDiscovery(config.upstream),
    );
    return {
      ok: true,
      lines: [
        `${file}: configuration is valid`,
        `  issuer ${config.issuer}, upstream ${config.upstream.url} (scope_request ${config.upstream.scope_request})`,
        `  token endpoint: ${describeTokenPath(tokenPath)}`,
        `  signing keys: ${keys.keys.map((key) => `${key.kid} ${key.alg} ${key.status}`).join(', ')}`,
        `  ${config.clients.length} client rule(s), ${config.scopes.length} scope polic(ies)`,
      ],
    };
  } catch (error) {
    if (error instanceof KeyLoadError) {
      return { ok: false, lines: error.problems.map((problem) => `${file}: ${problem}`) };
    }
    if (error instanceof TokenPathError) return { ok: false, lines: [`${file}: ${error.message}`] };
    throw error;
  }
}
