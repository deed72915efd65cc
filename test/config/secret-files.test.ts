/**
 * Secrets from files (config/secret-files.ts): every secret of the configuration has a `_file`
 * form beside its inline one (a table checked against the schema), exactly one of them is allowed,
 * the file's content is checked as the inline value is and lands where the code reads it, `check`
 * names an unreadable or wrong file with its line, and a changed file is a reload.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../config/load.js';
import { configJsonSchema, type JsonSchemaNode } from '../../config/reference.js';
import { readSecretFiles, SECRET_SETTINGS, withSecretValues } from '../../config/secret-files.js';
import { checkConfig } from '../../proxy/cli/check.js';
import { generatePrivateKeyPem } from '../../proxy/keys/key-material.js';
import { createLogger } from '../../proxy/observability/log.js';
import { startScopegate } from '../../proxy/server/instance.js';
import { upstreamTokenCacheFor } from '../../proxy/upstream/token-cache/upstream-token-cache.js';
import { startRedis, type TestRedis } from '../cache/redis-server.js';
import { LogCapture, prepareTestConfig } from '../support/gateway.js';
import { runCli } from '../support/run-cli.js';
import { waitFor } from '../support/wait.js';

/** Rules under which a test writes an entry: any age, any remaining lifetime. */
const WRITE_RULES = { maxAgeMs: 3_600_000, minRemainingMs: 0, clockToleranceMs: 0 };

const key32 = () => randomBytes(32).toString('base64url');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-secret-files-'));
  await writeFile(path.join(dir, 'k1.pem'), generatePrivateKeyPem('ES256'), { mode: 0o600 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A config whose upstream needs no network for `check` (token path and keys configured). */
function configText(extra: string): string {
  return `listen: "127.0.0.1:0"
issuer: "https://auth.example.com"
upstream:
  url: "http://127.0.0.1:9"
  token_path: "/oauth/token"
  issuer: "https://tenant.example.com/"
  jwks_uri: "http://127.0.0.1:9/jwks"
${extra}signing:
  keys:
    - kid: "k1"
      alg: ES256
      private_key_file: "k1.pem"
`;
}

async function writeConfig(name: string, extra: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, configText(extra));
  return file;
}

/** Every `key` path of the JSON Schema, dotted (`[]` for list entries). */
function keyPaths(node: JsonSchemaNode, at = ''): string[] {
  const own = Object.entries(node.properties ?? {}).flatMap(([key, child]) => {
    const where = at === '' ? key : `${at}.${key}`;
    return [where, ...keyPaths(child, where)];
  });
  return node.items ? [...own, ...keyPaths(node.items, `${at}[]`)] : own;
}

describe('the list of secrets', () => {
  const paths = keyPaths(configJsonSchema());
  const listed = SECRET_SETTINGS.map((setting) => setting.path.join('.'));

  it('gives every listed secret an inline and a _file key in the schema', () => {
    for (const secret of listed) {
      expect(paths, secret).toContain(secret);
      expect(paths, secret).toContain(`${secret}_file`);
    }
  });

  it('lists every secret-looking key of the schema (signing keys and the TLS keys have their own loaders)', () => {
    // Secrets by name, and the export headers, which carry a tracing vendor's API key.
    const secretByContent = new Set(['tracing.exporter.headers', 'tracing.exporter.headers_file']);
    const secretLooking = paths.filter(
      (key) =>
        /(?:^|[._])(?:key|secret|password)(?:_file)?$/.test(key) ||
        /_key$/.test(key) ||
        secretByContent.has(key),
    );
    // Key files read by their own loaders, on every load and reload: signing keys
    // (proxy/keys/signing-keys.ts), the upstream client certificate's key (upstream-tls.ts) and
    // the public listener's key (proxy/server/server-tls.ts) and the key scopegate signs a client's
    // upstream assertions with (upstream-auth-keys.ts).
    const own = new Set([
      'signing.keys[].private_key',
      'signing.keys[].private_key_file',
      'upstream.tls.key_file',
      'server.tls.key_file',
      'clients[].upstream_auth.key_file',
    ]);
    const expected = secretLooking.filter((key) => !own.has(key));
    expect(expected.sort()).toEqual(
      [...listed, ...listed.map((secret) => `${secret}_file`)].sort(),
    );
  });
});

describe('tracing export headers from a file', () => {
  it('reads key=value pairs, percent-decoded, into the headers', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-headers-'));
    try {
      await writeFile(path.join(dir, 'otlp-headers'), 'x-api-key=s3cr%3Dt,x-team=ops\n');
      const config = {
        tracing: { exporter: { headers_file: 'otlp-headers' } },
      };
      const secrets = await readSecretFiles(config, path.join(dir, 'scopegate.yaml'));
      expect(secrets.problems).toEqual([]);
      const applied = withSecretValues(config, secrets) as {
        tracing: { exporter: { headers?: Record<string, string> } };
      };
      expect(applied.tracing.exporter.headers).toEqual({ 'x-api-key': 's3cr=t', 'x-team': 'ops' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file without a key=value pair, naming it and not its content', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-headers-'));
    try {
      await writeFile(path.join(dir, 'otlp-headers'), 'just-a-token-value\n');
      const secrets = await readSecretFiles(
        { tracing: { exporter: { headers_file: 'otlp-headers' } } },
        path.join(dir, 'scopegate.yaml'),
      );
      expect(secrets.problems.map((problem) => problem.at.join('.'))).toEqual([
        'tracing.exporter.headers_file',
      ]);
      expect(JSON.stringify(secrets.problems)).not.toContain('just-a-token-value');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('loading a configuration with secrets in files', () => {
  it('reads each file, drops one trailing newline, and puts the value where the code reads it', async () => {
    const values = {
      refresh: key32(),
      upstream: key32(),
      cache: 'a cache key of more than thirty-two characters',
      introspection: 'introspection secret',
      redis: 'redis password',
    };
    await writeFile(path.join(dir, 'refresh.key'), `${values.refresh}\n`);
    await writeFile(path.join(dir, 'upstream.key'), values.upstream);
    await writeFile(path.join(dir, 'cache.key'), `${values.cache}\r\n`);
    await writeFile(path.join(dir, 'introspection.secret'), `${values.introspection}\n`);
    await writeFile(path.join(dir, 'redis.password'), `${values.redis}\n`);
    const file = await writeConfig(
      'all.yaml',
      `  token_format: auto
  introspection:
    client_id: scopegate
    client_secret_file: introspection.secret
tokens:
  refresh_token_key_file: refresh.key
  upstream_token_key_file: upstream.key
cache:
  upstream_tokens:
    key_file: cache.key
    backend: redis
    redis:
      url: "redis://127.0.0.1:6379"
      password_file: redis.password
`,
    );
    const result = await loadConfigFile(file, {});
    if (!result.ok) throw new Error(result.errors.join('\n'));
    const { config } = result.loaded;
    expect(config.tokens.refresh_token_key).toBe(values.refresh);
    expect(config.tokens.upstream_token_key).toBe(values.upstream);
    expect(config.cache.upstream_tokens.key).toBe(values.cache);
    expect(config.upstream.introspection?.client_secret).toBe(values.introspection);
    expect(config.cache.upstream_tokens.redis?.password).toBe(values.redis);
  });

  it('resolves a file relative to the config file, not the working directory', async () => {
    const value = key32();
    await writeFile(path.join(dir, 'relative.key'), value);
    const file = await writeConfig(
      'relative.yaml',
      'tokens:\n  refresh_token_key_file: relative.key\n',
    );
    const result = await loadConfigFile(path.relative(process.cwd(), file), {});
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.loaded.config.tokens.refresh_token_key).toBe(value);
  });

  it.each([
    [
      'tokens:\n  refresh_token_key: X\n  refresh_token_key_file: refresh.key\n',
      10,
      'tokens.refresh_token_key_file: set refresh_token_key or refresh_token_key_file, not both',
    ],
    [
      'tokens:\n  upstream_token_key: X\n  upstream_token_key_file: upstream.key\n',
      10,
      'tokens.upstream_token_key_file: set upstream_token_key or upstream_token_key_file, not both',
    ],
    [
      'cache:\n  upstream_tokens:\n    key: X\n    key_file: cache.key\n',
      11,
      'cache.upstream_tokens.key_file: set key or key_file, not both',
    ],
    [
      'cache:\n  upstream_tokens:\n    redis:\n      url: "redis://127.0.0.1"\n      password: X\n      password_file: redis.password\n',
      13,
      'cache.upstream_tokens.redis.password_file: set password or password_file, not both',
    ],
    [
      'cache:\n  upstream_tokens:\n    redis:\n      url: "redis://u:p@127.0.0.1"\n      password_file: redis.password\n',
      11,
      'cache.upstream_tokens.redis.url: the password is in url and in password or password_file',
    ],
  ])('allows one source per secret: %j', async (extra, line, message) => {
    const file = await writeConfig('both.yaml', extra);
    const result = await loadConfigFile(file, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.join('\n')).toContain(`${file}:${line}: ${message}`);
  });
});

describe('scopegate check on secret files', () => {
  it('fails on an unreadable upstream.introspection.client_secret_file, with its line', async () => {
    const file = await writeConfig(
      'introspection.yaml',
      '  token_format: opaque\n  introspection:\n    client_id: scopegate\n    client_secret_file: missing.secret\n',
    );
    const checked = await checkConfig(file, {});
    expect(checked.ok).toBe(false);
    expect(checked.lines).toEqual([
      `${file}:11: upstream.introspection.client_secret_file: cannot read missing.secret (ENOENT)`,
    ]);
    // The command itself: non-zero, the message on stderr.
    const cli = await runCli(['check', '--config', file]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain(
      `${file}:11: upstream.introspection.client_secret_file: cannot read missing.secret (ENOENT)`,
    );
    expect(cli.stdout).not.toContain('configuration is valid');
  });

  it('names each bad file, what is wrong, and never what the file holds', async () => {
    await writeFile(path.join(dir, 'short.key'), 'not-32-bytes-but-secret\n');
    await writeFile(path.join(dir, 'empty.key'), '\n');
    await writeFile(path.join(dir, 'short-cache.key'), 'short-cache-secret');
    const file = await writeConfig(
      'bad.yaml',
      `tokens:
  refresh_token_key_file: short.key
  upstream_token_key_file: empty.key
clients:
  - client_id: m2m
    cache: true
cache:
  upstream_tokens:
    key_file: short-cache.key
`,
    );
    const checked = await checkConfig(file, {});
    expect(checked.ok).toBe(false);
    expect(checked.lines).toEqual([
      `${file}:9: tokens.refresh_token_key_file: short.key: expected 32 random bytes, base64url (e.g. \`openssl rand 32 | basenc --base64url\`)`,
      `${file}:10: tokens.upstream_token_key_file: empty.key is empty`,
      `${file}:16: cache.upstream_tokens.key_file: short-cache.key: the cache key must be at least 32 characters`,
    ]);
    const all = checked.lines.join('\n');
    expect(all).not.toContain('not-32-bytes-but-secret');
    expect(all).not.toContain('short-cache-secret');
  });

  it('reports secret files and schema errors in the same run', async () => {
    const file = await writeConfig(
      'mixed.yaml',
      'tokens:\n  max_lifetime: soon\n  refresh_token_key_file: nowhere.key\n',
    );
    const checked = await checkConfig(file, {});
    expect(checked.ok).toBe(false);
    expect(checked.lines.some((line) => line.includes('tokens.max_lifetime'))).toBe(true);
    expect(checked.lines).toContain(
      `${file}:10: tokens.refresh_token_key_file: cannot read nowhere.key (ENOENT)`,
    );
  });

  it('accepts readable, valid files', async () => {
    await writeFile(path.join(dir, 'good.key'), `${key32()}\n`);
    const file = await writeConfig('good.yaml', 'tokens:\n  refresh_token_key_file: good.key\n');
    const checked = await checkConfig(file, {});
    expect(checked.lines[0]).toBe(`${file}: configuration is valid`);
    expect(checked.ok).toBe(true);
  });
});

describe('the Redis password from a file', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
    // Connections made from now on must authenticate; the assertion client already is.
    await redis.client.config('SET', 'requirepass', 'redis-password-from-file');
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function cacheWith(passwordFileContent: string) {
    await writeFile(path.join(dir, 'redis-auth.password'), passwordFileContent);
    const file = await writeConfig(
      'redis.yaml',
      `clients:
  - client_id: m2m
    cache: true
cache:
  upstream_tokens:
    key: "a cache key of more than thirty-two characters"
    backend: redis
    redis:
      url: "${redis.url}"
      password_file: redis-auth.password
`,
    );
    const result = await loadConfigFile(file, {});
    if (!result.ok) throw new Error(result.errors.join('\n'));
    const cache = upstreamTokenCacheFor(result.loaded.config);
    if (!cache) throw new Error('expected a token cache');
    return cache;
  }

  it('authenticates to Redis with it', async () => {
    await redis.client.flushall();
    const cache = await cacheWith('redis-password-from-file\n');
    try {
      const expires = Math.floor(Date.now() / 1000) + 3600;
      // The connection is made in the background; until it is ready a write goes nowhere.
      await waitFor(async () => {
        await cache.put(cache.keyFor('material'), Buffer.from('{}'), expires, WRITE_RULES);
        return (await redis.client.dbsize()) === 1;
      }, 'the entry in Redis');
    } finally {
      await cache.close();
    }
  });

  it('is refused by Redis when wrong: nothing is written', async () => {
    await redis.client.flushall();
    const cache = await cacheWith('another-password\n');
    try {
      const expires = Math.floor(Date.now() / 1000) + 3600;
      for (let attempt = 0; attempt < 10; attempt++) {
        await cache.put(
          cache.keyFor(`material-${attempt}`),
          Buffer.from('{}'),
          expires,
          WRITE_RULES,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await redis.client.dbsize()).toBe(0);
    } finally {
      await cache.close();
    }
  });
});

describe('a changed secret file', () => {
  it('is a reload: the new value is in force, a bad one keeps the old', async () => {
    const first = key32();
    const prepared = await prepareTestConfig({
      upstreamUrl: 'http://127.0.0.1:9',
      config: {
        tokens: { refresh_token_key_file: 'refresh.key' },
        server: { watch_config: true, shutdown_grace: '1s' },
      },
    });
    await writeFile(path.join(prepared.dir, 'refresh.key'), `${first}\n`);
    const logs = new LogCapture();
    const logger = createLogger({ level: 'debug', format: 'json', destination: logs });
    const instance = await startScopegate({ configFile: prepared.configFile, logger, env: {} });
    try {
      expect(instance.runtime().config.tokens.refresh_token_key).toBe(first);
      const second = key32();
      await writeFile(path.join(prepared.dir, 'refresh.key'), `${second}\n`);
      await waitFor(
        () => instance.runtime().config.tokens.refresh_token_key === second,
        'the reload with the new key',
      );
      const generation = instance.runtime().generation;
      await writeFile(path.join(prepared.dir, 'refresh.key'), 'short-secret\n');
      await waitFor(
        () => logs.text().includes('tokens.refresh_token_key_file: refresh.key: expected 32'),
        'the failed reload',
      );
      expect(instance.runtime().generation).toBe(generation);
      expect(instance.runtime().config.tokens.refresh_token_key).toBe(second);
      expect(logs.text()).not.toContain('short-secret');
    } finally {
      await instance.shutdown();
      await prepared.remove();
    }
  });
});
