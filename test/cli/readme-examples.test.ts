/**
 * README examples that can drift, checked against what the code does: every `scopegate explain`
 * session in "Explaining a decision" is run against the policies the README shows above it, and
 * its printed output must be what the README prints.
 * To refresh them after a deliberate change, run the commands shown and paste their output.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExplainArgs, explain } from '../../proxy/cli/explain.js';
import { packageRoot } from '../../proxy/observability/package-root.js';

const README = path.join(packageRoot(), 'proxy', 'scope', 'README.md');

/** The text of a section: from its heading to the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}" section`);
  const level = heading.indexOf(' ');
  const rest = markdown.slice(start + heading.length + 2);
  const next = new RegExp(`^#{1,${level}} `, 'm').exec(rest);
  return next ? rest.slice(0, next.index) : rest;
}

function fencedBlocks(text: string, language: string): string[] {
  const blocks: string[] = [];
  const fence = new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm');
  for (const match of text.matchAll(fence)) blocks.push(match[1] ?? '');
  return blocks;
}

/** Splits a shell command line into words: single and double quotes, no expansions. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: "'" | '"' | undefined;
  let inWord = false;
  for (const char of line) {
    if (quote) {
      if (char === quote) quote = undefined;
      else current += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unbalanced quote in: ${line}`);
  if (inWord) words.push(current);
  return words;
}

interface Session {
  command: string;
  args: string[];
  output: string;
}

/** `$ npx scopegate explain ...` with its `\` continuation lines, then the output it shows. */
function explainSessions(block: string): Session[] {
  const lines = block.split('\n');
  const sessions: Session[] = [];
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i] ?? '';
    if (!first.startsWith('$ npx scopegate explain')) continue;
    let command = first.slice(2);
    while (command.endsWith('\\')) command = `${command.slice(0, -1)} ${(lines[++i] ?? '').trim()}`;
    const output: string[] = [];
    while (i + 1 < lines.length && !(lines[i + 1] ?? '').startsWith('$ '))
      output.push(lines[++i] ?? '');
    sessions.push({ command, args: shellWords(command).slice(3), output: output.join('\n') });
  }
  return sessions;
}

function explainArgs(args: string[]): ExplainArgs {
  const out: ExplainArgs = {};
  for (let i = 0; i < args.length; i++) {
    const name = args[i]?.replace(/^--/, '');
    if (name === 'json') {
      out.json = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new Error(`--${name} without a value`);
    (out as Record<string, string>)[name ?? ''] = value;
  }
  return out;
}

let markdown: string;
let dir: string;
let configFile: string;

beforeAll(async () => {
  markdown = await readFile(README, 'utf8');
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-readme-'));
  // "With the policies above and scope_request: templates": the Governance policies example.
  const [policies] = fencedBlocks(section(markdown, '### Governance policies'), 'yaml');
  expect(policies, 'the Governance policies section shows its policies').toBeDefined();
  configFile = path.join(dir, 'scopegate.yaml');
  await writeFile(
    configFile,
    `issuer: "https://auth.example.com"
upstream:
  url: "https://tenant.example.com"
  scope_request: templates
signing:
  keys:
    - { kid: k1, alg: ES256, private_key_file: not-read-by-explain.pem }
${policies}`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('README', () => {
  it('shows explain sessions whose output is what explain prints', async () => {
    const blocks = fencedBlocks(section(markdown, '### Explaining a decision'), 'console');
    const sessions = blocks.flatMap(explainSessions);
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    for (const session of sessions) {
      const args = explainArgs(session.args);
      expect(args.config).toBe('scopegate.yaml');
      const result = await explain({ ...args, config: configFile });
      expect(result.stderr).toBe('');
      expect(`$ ${session.command}\n${result.stdout.trimEnd()}`).toBe(
        `$ ${session.command}\n${session.output.trimEnd()}`,
      );
    }
  });
});
