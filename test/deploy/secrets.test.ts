/** No private key material may ever be committed with the deploy artifacts. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY, listFiles, ROOT, readText } from './artifacts.js';

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;

/**
 * Files under deploy/ that git would commit (tracked, or untracked and not ignored): a key an
 * operator keeps in an ignored keys/ directory is fine. Without git, every file counts.
 */
function committableFiles(): string[] {
  const git = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: DEPLOY,
    encoding: 'utf8',
  });
  if (git.error !== undefined || git.status !== 0) return listFiles(DEPLOY);
  const prefix = path.relative(ROOT, DEPLOY);
  return git.stdout
    .split('\0')
    .filter((file) => file !== '')
    .map((file) => path.join(ROOT, file.startsWith(`${prefix}/`) ? file : path.join(prefix, file)));
}

describe('deploy/: no committed secrets', () => {
  const files = committableFiles();

  it('finds the deploy artifacts to scan', () => {
    expect(files.map((file) => path.relative(DEPLOY, file))).toEqual(
      expect.arrayContaining(['Dockerfile', 'kubernetes/overlays/example/kustomization.yaml']),
    );
  });

  it('holds no key files', () => {
    const keyish = files.filter((file) => /\.(?:pem|key|p8|p12|pfx|jwk)$/i.test(file));
    expect(keyish.map((file) => path.relative(DEPLOY, file))).toEqual([]);
  });

  it('holds no PEM private key in any file', () => {
    expect(PEM_PRIVATE_KEY.test('-----BEGIN PRIVATE KEY-----')).toBe(true);
    expect(PEM_PRIVATE_KEY.test('-----BEGIN EC PRIVATE KEY-----')).toBe(true);
    const offending = files.filter((file) => PEM_PRIVATE_KEY.test(readText(file)));
    expect(offending.map((file) => path.relative(DEPLOY, file))).toEqual([]);
  });
});
