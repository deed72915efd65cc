/**
 * Notices when the configuration on disk changes: the config file, the key files, the secret
 * files (`*_file`, config/secret-files.ts) and the public listener's TLS files it names.
 *
 * Directories are watched, not files: editors save by writing a new file and renaming it over
 * the old one, and Kubernetes updates ConfigMap and Secret volumes by swapping a symlink, and a
 * watch on the old inode would see neither. What changed is decided by content (a fingerprint of
 * every file), so directory noise (swap files, unrelated files) triggers nothing, and a config
 * that names a key file not there yet is retried when the key file arrives (ConfigMap and Secret
 * volumes are updated independently). A slow poll backs up fs.watch where it is unreliable
 * (network filesystems, some container bind mounts).
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { parseConfigText } from '../../config/load.js';
import { secretFilesOf } from '../../config/secret-files.js';
import type { Logger } from '../observability/log.js';

export interface ConfigWatcherOptions {
  configFile: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Called when the content changed; the watcher never calls it twice for the same content. */
  onChange: () => void;
  logger: Logger;
  debounceMs?: number;
  pollMs?: number;
}

interface DiskState {
  fingerprint: string;
  directories: Set<string>;
}

const MISSING = '\u0000missing';

async function readOrMissing(file: string): Promise<string> {
  return readFile(file, 'utf8').catch(() => MISSING);
}

/** The directories to watch for `file`: its own, and its target's when it is a symlink. */
async function directoriesOf(file: string): Promise<string[]> {
  const target = await realpath(file).catch(() => file);
  return [path.dirname(file), path.dirname(target)];
}

/** Key and secret files the config text names, resolved the way their loaders resolve them. */
function keyFilesOf(text: string, configFile: string, env: ConfigWatcherOptions['env']): string[] {
  const parsed = parseConfigText(text, configFile, env);
  if (!parsed.ok) return [];
  const keyFiles = parsed.config.signing.keys
    .map((key) => key.private_key_file)
    .filter((file): file is string => file !== undefined)
    .map((file) => path.resolve(path.dirname(configFile), file));
  const secretFiles = secretFilesOf(parsed.config, configFile).map((found) => found.absolute);
  // The public listener's certificate, key and client CAs: a renewed certificate (cert-manager
  // rewrites its Secret) is put in force without a restart.
  const tls = parsed.config.server.tls;
  const tlsFiles = [tls?.cert_file, tls?.key_file, tls?.client_ca_file]
    .filter((file): file is string => file !== undefined)
    .map((file) => path.resolve(path.dirname(configFile), file));
  return [...keyFiles, ...secretFiles, ...tlsFiles];
}

export class ConfigWatcher {
  private readonly configFile: string;
  private readonly watchers = new Map<string, FSWatcher>();
  private lastSeen: string | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly options: ConfigWatcherOptions) {
    this.configFile = path.resolve(options.configFile);
  }

  async start(): Promise<void> {
    const state = await this.diskState();
    this.lastSeen = state.fingerprint;
    this.watchDirectories(state.directories);
    this.poll = setInterval(() => this.schedule(0), this.options.pollMs ?? 5000);
    this.poll.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** Compares the disk with what was last seen; calls onChange when it differs. */
  check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        const state = await this.diskState();
        if (this.closed) return;
        this.watchDirectories(state.directories);
        if (state.fingerprint !== this.lastSeen) {
          this.lastSeen = state.fingerprint;
          this.options.onChange();
        }
      } while (this.again && !this.closed);
    })()
      .catch((error: unknown) => {
        this.options.logger.warn({ error: (error as Error).message }, 'config watch check failed');
      })
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.check(), delayMs);
    this.debounce.unref();
  }

  private async diskState(): Promise<DiskState> {
    const hash = createHash('sha256');
    const text = await readOrMissing(this.configFile);
    hash.update(`${this.configFile}\u0000${text}\u0000`);
    const directories = new Set(await directoriesOf(this.configFile));
    if (text !== MISSING) {
      for (const file of keyFilesOf(text, this.configFile, this.options.env)) {
        hash.update(`${file}\u0000${await readOrMissing(file)}\u0000`);
        for (const directory of await directoriesOf(file)) directories.add(directory);
      }
    }
    return { fingerprint: hash.digest('hex'), directories };
  }

  private watchDirectories(directories: Set<string>): void {
    for (const [directory, watcher] of this.watchers) {
      if (!directories.has(directory)) {
        watcher.close();
        this.watchers.delete(directory);
      }
    }
    for (const directory of directories) {
      if (this.watchers.has(directory)) continue;
      let watcher: FSWatcher;
      try {
        watcher = watch(directory, { persistent: false }, () => {
          this.schedule(this.options.debounceMs ?? 200);
        });
      } catch (error) {
        // Not there (yet): the poll keeps checking, and the next check tries to watch it again.
        this.options.logger.debug(
          { directory, error: (error as Error).message },
          'cannot watch config directory',
        );
        continue;
      }
      // A watched directory that is removed emits an error; unhandled, it would end the process.
      watcher.on('error', (error) => {
        this.options.logger.warn(
          { directory, error: error.message },
          'config directory watch failed; relying on polling',
        );
        watcher.close();
        if (this.watchers.get(directory) === watcher) this.watchers.delete(directory);
      });
      this.watchers.set(directory, watcher);
    }
  }
}
