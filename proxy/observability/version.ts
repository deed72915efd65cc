/** The version of the installed package, read from its package.json (`--version`, build_info). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-root.js';

export function packageVersion(): string {
  const manifest: unknown = JSON.parse(
    readFileSync(path.join(packageRoot(), 'package.json'), 'utf8'),
  );
  const version = (manifest as { version?: unknown }).version;
  return typeof version === 'string' ? version : 'unknown';
}
