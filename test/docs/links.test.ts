/**
 * The docs live beside what they describe, and link to each other: every relative link of every
 * Markdown file in the repository leads to a file that exists and, with an anchor, to a heading
 * that exists there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../proxy/observability/package-root.js';
import { anchorsOf, relativeLinks } from '../support/markdown.js';

const ROOT = packageRoot();

function markdownFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return listed
    .split('\n')
    .filter((file) => file.endsWith('.md') && existsSync(path.join(ROOT, file)));
}

describe('links between the docs', () => {
  const files = markdownFiles();

  it('finds the docs beside the code', () => {
    for (const doc of ['README.md', 'config/README.md', 'deploy/README.md', 'proxy/README.md']) {
      expect(files).toContain(doc);
    }
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)('%s: every relative link resolves', (file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const broken: string[] = [];
    for (const { target, line } of relativeLinks(text)) {
      const [pathPart = '', anchor] = target.split('#', 2);
      const resolved = pathPart === '' ? file : path.join(path.dirname(file), pathPart);
      const absolute = path.join(ROOT, resolved);
      if (!existsSync(absolute)) {
        broken.push(`${file}:${line}: ${target}: no file ${resolved}`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md')) {
        if (!anchorsOf(readFileSync(absolute, 'utf8')).has(anchor)) {
          broken.push(`${file}:${line}: ${target}: no heading #${anchor} in ${resolved}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
