/**
 * `scopegate check`: the whole configuration, keys included, validated without serving. Every
 * problem at once: when the schema finds errors, the key entries that are well-formed are still
 * loaded, so a missing key file shows up in the same run as the schema errors.
 */
import { lineOfSetting, loadConfigFile } from '../../config/load.js';
import { signingKey } from '../../config/schema.js';
import { KeyLoadError, loadSigningKey, loadSigningKeys } from '../keys/signing-keys.js';
import { TlsFileError } from '../keys/tls-files.js';
import { ClientKeyLoadError, ClientKeys } from '../runtime/client-keys.js';
import { loadServerTls } from '../server/server-tls.js';
import { UpstreamDiscovery } from '../upstream/discovery.js';
import {
  type ResolvedTokenPath,
  resolveTokenPath,
  TokenPathError,
} from '../upstream/token-path.js';
import { environmentProxyProblems, UpstreamAgents } from '../upstream/upstream-agents.js';
import { loadUpstreamTls } from '../upstream/upstream-tls.js';

/**
 * A TLS setting's files (upstream.tls, server.tls) read as the gateway will; their problems as
 * `FILE:LINE: path: message` lines.
 */
async function tlsFilesOf<T>(
  load: () => Promise<T>,
  label: string,
  configFile: string,
): Promise<{ material: T } | { problems: string[] }> {
  try {
    return { material: await load() };
  } catch (error) {
    if (!(error instanceof TlsFileError)) throw error;
    const problems = await Promise.all(
      error.problems.map(async (problem) => {
        const line = await lineOfSetting(configFile, problem.path);
        return `${label}${line === undefined ? '' : `:${line}`}: ${problem.path.join('.')}: ${problem.message}`;
      }),
    );
    return { problems };
  }
}

function describeTokenPath(resolved: ResolvedTokenPath): string {
  if (resolved.source === 'discovery') return `${resolved.path} (from upstream discovery)`;
  if (resolved.unconfirmed)
    return `${resolved.path} (upstream.token_path; ${resolved.unconfirmed})`;
  return `${resolved.path} (upstream.token_path, matches upstream discovery)`;
}

/** Problems of the well-formed key entries of a config the schema refused. */
async function keyProblemsOf(raw: unknown, configFile: string): Promise<string[]> {
  const entries = (raw as { signing?: { keys?: unknown } } | null | undefined)?.signing?.keys;
  if (!Array.isArray(entries)) return [];
  const problems: string[] = [];
  for (const [index, entry] of entries.entries()) {
    const parsed = signingKey.safeParse(entry);
    if (!parsed.success) continue; // the schema errors already name what is wrong with it
    const loaded = await loadSigningKey(parsed.data, index, configFile);
    if (!loaded.ok) problems.push(loaded.problem);
  }
  return problems;
}

export async function checkConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ ok: boolean; lines: string[] }> {
  const result = await loadConfigFile(file, env);
  if (!result.ok) {
    const keyProblems = result.file ? await keyProblemsOf(result.raw, result.file) : [];
    return {
      ok: false,
      lines: [...result.errors, ...keyProblems.map((problem) => `${file}: ${problem}`)],
    };
  }
  const { config } = result.loaded;
  const tls = await tlsFilesOf(
    () => loadUpstreamTls(config.upstream.tls, result.loaded.file),
    file,
    result.loaded.file,
  );
  const serverTls = await tlsFilesOf(
    () => loadServerTls(config.server.tls, result.loaded.file),
    file,
    result.loaded.file,
  );
  const tlsProblems = [
    ...('problems' in tls ? tls.problems : []),
    ...('problems' in serverTls ? serverTls.problems : []),
  ];
  let agents: UpstreamAgents | undefined;
  try {
    const keys = await loadSigningKeys(
      config.signing.keys,
      result.loaded.file,
      config.signing.default_alg,
    );
    if ('problems' in tls || tlsProblems.length > 0) return { ok: false, lines: tlsProblems };
    // The keys scopegate signs clients' upstream assertions with (upstream_auth private_key_jwt).
    await ClientKeys.load(config, result.loaded.file);
    const unusableProxy = config.upstream.proxy === undefined ? environmentProxyProblems(env) : [];
    if (unusableProxy.length > 0) {
      return { ok: false, lines: unusableProxy.map((problem) => `${file}: ${problem}`) };
    }
    // Discovery is asked the way the gateway will ask it: through the proxy, with upstream.tls.
    agents = new UpstreamAgents({
      proxy: config.upstream.proxy,
      tls: tls.material,
      maxSockets: config.upstream.max_connections,
      connectTimeoutMs: config.upstream.timeout,
    });
    const tokenPath = await resolveTokenPath(
      config.upstream,
      new UpstreamDiscovery(config.upstream, undefined, Date.now, agents),
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
      const keyLines = error.problems.map((problem) => `${file}: ${problem}`);
      return { ok: false, lines: [...tlsProblems, ...keyLines] };
    }
    if (error instanceof ClientKeyLoadError) {
      return { ok: false, lines: error.problems.map((problem) => `${file}: ${problem}`) };
    }
    if (error instanceof TokenPathError) return { ok: false, lines: [`${file}: ${error.message}`] };
    throw error;
  } finally {
    agents?.close();
  }
}
