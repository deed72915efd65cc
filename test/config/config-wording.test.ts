/**
 * Config errors a person can act on: the project's own wording (never the schema library's),
 * "did you mean" for a near-miss key, YAML syntax errors on the line that opened the problem,
 * and `check` naming missing key files in the same run as schema errors.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closestKey, editDistance } from '../../config/issue-wording.js';
import { parseConfigText } from '../../config/load.js';
import { checkConfig } from '../../proxy/cli/check.js';
import { errorsOf, MINIMAL } from './minimal-config.js';

/** The schema library's default wording; none of it may reach a user. */
const LIBRARY_WORDING = /Invalid (option|input|string|type)|Too (small|big)|expected one of|"\|"/;

describe('config error wording', () => {
  it.each<[string, string, string]>([
    [
      'an enum',
      'tokens:\n  scope_format: list\n',
      'tokens.scope_format: must be one of: string, array',
    ],
    [
      'a number for text',
      'admin_listen: 9090\n',
      'admin_listen: must be text, not the number 9090',
    ],
    ['a mapping for a list', 'scopes: {}\n', 'scopes: must be a list, not a mapping'],
    ['a list for a mapping', 'tokens: []\n', 'tokens: must be a mapping, not a list'],
    [
      'text for true/false',
      'metrics:\n  client_id_label: "yes"\n',
      'metrics.client_id_label: must be true or false, not the text "yes"',
    ],
    [
      'a number too small',
      'server:\n  body_limit: 10\n',
      'server.body_limit: must be at least 1024',
    ],
    ['an empty string', 'clients:\n  - client_id: ""\n', 'clients[0].client_id: must not be empty'],
    [
      'an empty list',
      'scopes:\n  - template: "a.*"\n    grant_types: []\n',
      'scopes[0].grant_types: must list at least one entry',
    ],
    ['a path without its slash', 'upstream_extra: 1\n', 'upstream_extra: unknown key'],
  ])('words %s in its own terms', (_what, extra, expected) => {
    const errors = errorsOf(`${MINIMAL}${extra}`);
    expect(errors.join('\n')).toContain(expected);
    for (const error of errors) expect(error).not.toMatch(LIBRARY_WORDING);
  });

  it('never passes the library wording through, whatever is wrong', () => {
    // Each top-level value replaced by something of the wrong shape.
    const wrong = fc.constantFrom('1', '"x"', '[]', '{}', 'true', 'null', '[1, "a"]', '{a: 1}');
    const key = fc.constantFrom(
      'listen',
      'issuer',
      'upstream',
      'signing',
      'tokens',
      'clients',
      'scopes',
      'cache',
    );
    fc.assert(
      fc.property(key, wrong, (name, value) => {
        const text = MINIMAL.split('\n')
          .filter((line) => !line.startsWith(`${name}:`))
          .join('\n');
        const result = parseConfigText(`${text}\n${name}: ${value}\n`, 'cfg.yaml', {});
        if (result.ok) return;
        for (const error of result.errors) expect(error).not.toMatch(LIBRARY_WORDING);
      }),
      { numRuns: 60 },
    );
  });
});

describe('did you mean', () => {
  /** MINIMAL with its upstream section replaced by the given one. */
  const withUpstream = (upstream: string) =>
    MINIMAL.replace(/^upstream:\n {2}url: .*\n/m, upstream);
  const url = 'upstream:\n  url: "https://t.example.com"\n';
  it.each<[string, string, string]>([
    [withUpstream(`${url}  tokenpath: /t\n`), 'upstream.tokenpath', 'token_path'],
    [withUpstream(`${url}  scope_reqest: omit\n`), 'upstream.scope_reqest', 'scope_request'],
    [
      `${MINIMAL}tokens:\n  on_unauthorised_scope: drop\n`,
      'tokens.on_unauthorised_scope',
      'on_unauthorized_scope',
    ],
    [`${MINIMAL}tokens:\n  max-lifetime: 1h\n`, 'tokens.max-lifetime', 'max_lifetime'],
    [`${MINIMAL}Cache: {}\n`, 'Cache', 'cache'],
  ])('suggests the near key: %#', (text, where, suggestion) => {
    expect(errorsOf(text).join('\n')).toContain(
      `${where}: unknown key (did you mean \`${suggestion}\`?)`,
    );
  });

  it('suggests a key of the mapping it is in, for list entries too', () => {
    const text = MINIMAL.replace(
      'private_key_file: "k1.pem"',
      'private_key_file: "k1.pem"\n      statsu: next',
    );
    expect(errorsOf(text)).toContain(
      'cfg.yaml:10: signing.keys[0].statsu: unknown key (did you mean `status`?)',
    );
  });

  it('suggests nothing for a key that is no near miss', () => {
    const errors = errorsOf(`${MINIMAL}surprise: 1\n`);
    expect(errors).toEqual(['cfg.yaml:10: surprise: unknown key']);
  });

  it.each<[string, string, number]>([
    ['token_path', 'token_path', 0],
    ['tokenpath', 'token_path', 1],
    ['token_paht', 'token_path', 1],
    ['scope', 'scopes', 1],
    ['abc', 'xyz', 3],
    ['', 'abc', 3],
  ])('edit distance %s -> %s is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });

  it('edit distance is symmetric and zero only for equal strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        expect(editDistance(a, b)).toBe(editDistance(b, a));
        expect(editDistance(a, b) === 0).toBe(a === b);
        expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });

  it('suggests only a known key', () => {
    expect(closestKey('lisen', ['listen', 'issuer'])).toBe('listen');
    expect(closestKey('zzzzzz', ['listen', 'issuer'])).toBeUndefined();
    expect(closestKey('x', [])).toBeUndefined();
  });
});

describe('YAML syntax errors', () => {
  it.each<[string, string, number]>([
    ['an unclosed double quote', 'issuer: "https://a.example\nupstream:\n  url: x\n', 1],
    ['an unclosed single quote', "listen: '127.0.0.1:8080\nissuer: x\n", 1],
    ['an unclosed flow list', 'issuer: x\nupstream:\n  url: [x\n', 3],
    ['an unclosed flow mapping', 'issuer: x\nupstream: {url: x\n', 2],
    ['a duplicate key', 'issuer: a\nissuer: b\n', 2],
    ['a bad indentation', 'issuer: a\n  bad: x\nupstream: {}\n', 1],
  ])('points at the line of %s', (_what, text, line) => {
    const errors = errorsOf(text);
    expect(errors[0]).toMatch(new RegExp(`^cfg\\.yaml:${line}: `));
    expect(errors[0]).not.toMatch(/at line \d+, column \d+/);
  });

  it('never points past the last line of the file', () => {
    const lineCount = MINIMAL.trimEnd().split('\n').length;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MINIMAL.length }),
        fc.constantFrom('"', "'", '[', '{', ': :', '\t', '- '),
        (at, inserted) => {
          const text = `${MINIMAL.slice(0, at)}${inserted}${MINIMAL.slice(at)}`;
          const result = parseConfigText(text, 'cfg.yaml', {});
          if (result.ok) return;
          for (const error of result.errors) {
            const line = Number(/^cfg\.yaml:(\d+):/.exec(error)?.[1] ?? '1');
            expect(line).toBeGreaterThanOrEqual(1);
            expect(line).toBeLessThanOrEqual(lineCount + 1);
          }
        },
      ),
    );
  });
});

describe('check reports every problem at once', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-check-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names a missing key file together with the schema errors', async () => {
    const file = path.join(dir, 'both.yaml');
    await writeFile(
      file,
      `${MINIMAL.replace('"k1.pem"', '"absent.pem"')}tokens:\n  scope_format: list\n`,
    );
    const result = await checkConfig(file, {});
    expect(result.ok).toBe(false);
    expect(result.lines).toEqual([
      `${file}:11: tokens.scope_format: must be one of: string, array`,
      `${file}: signing.keys[0] (kid k1): cannot read absent.pem (ENOENT)`,
    ]);
  });

  it('does not try to load a key entry the schema refused (its errors say why)', async () => {
    const file = path.join(dir, 'badkey.yaml');
    await writeFile(file, MINIMAL.replace('alg: ES256', 'alg: HS256'));
    const result = await checkConfig(file, {});
    expect(result.lines).toEqual([
      `${file}:8: signing.keys[0].alg: must be one of: ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512, EdDSA`,
    ]);
  });
});
