/**
 * The configuration as the primary hands it to its workers: validated, signing keys loaded once to
 * prove they load, and every key file's content put in place of its name (`private_key_file`
 * becomes `private_key`). A worker started later, after a crash, then depends on nothing on disk:
 * a key file replaced by a bad one meanwhile cannot stop it from serving the configuration in
 * force. (Secret files are already read into the configuration by loadConfigFile; the
 * upstream.tls files are still read by each worker as it builds its generation.)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedConfig } from '../../config/load.js';
import { KeyLoadError, loadSigningKeys } from '../keys/signing-keys.js';

/** `loaded` with its key files read in; throws KeyLoadError when a key does not load. */
export async function portableConfig(loaded: LoadedConfig): Promise<LoadedConfig> {
  const { config, file } = loaded;
  const problems: string[] = [];
  const keys = await Promise.all(
    config.signing.keys.map(async (key, index) => {
      if (key.private_key_file === undefined) return key;
      const { private_key_file: keyFile, ...rest } = key;
      try {
        const text = await readFile(path.resolve(path.dirname(file), keyFile), 'utf8');
        return { ...rest, private_key: text };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        problems.push(`signing.keys[${index}] (kid ${key.kid}): cannot read ${keyFile} (${code})`);
        return key;
      }
    }),
  );
  if (problems.length > 0) throw new KeyLoadError(problems);
  const portable = { file, config: { ...config, signing: { ...config.signing, keys } } };
  // Loaded here once, so that a key a worker could not load is refused before any worker sees it.
  await loadSigningKeys(keys, file, config.signing.default_alg);
  return portable;
}
