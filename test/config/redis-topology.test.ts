/**
 * Where Redis is, in the one schema both Redis sections share (cache.upstream_tokens.redis,
 * tokens.revocation.redis): exactly one of url, sentinel and cluster, sentinel and cluster nodes
 * as host:port, the sentinels' and the cluster nodes' passwords inline or from a file (not both,
 * and a cluster's password in one place), and `check` naming each mistake with FILE:LINE: path.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../config/load.js';
import { checkConfig } from '../../proxy/cli/check.js';
import { generatePrivateKeyPem } from '../../proxy/keys/key-material.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-redis-topology-'));
  await writeFile(path.join(dir, 'k1.pem'), generatePrivateKeyPem('ES256'), { mode: 0o600 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A config whose upstream needs no network for `check`; `redis` is indented under revocation. */
async function writeConfig(name: string, redis: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(
    file,
    `listen: "127.0.0.1:0"
issuer: "https://auth.example.com"
upstream:
  url: "http://127.0.0.1:9"
  token_path: "/oauth/token"
  issuer: "https://tenant.example.com/"
  jwks_uri: "http://127.0.0.1:9/jwks"
signing:
  keys:
    - kid: "k1"
      alg: ES256
      private_key_file: "k1.pem"
tokens:
  revocation:
    store: redis
    redis:
${redis}`,
  );
  return file;
}

describe('redis: url, sentinel or cluster', () => {
  it.each([
    [
      '      url: "redis://127.0.0.1:6379"\n      sentinel:\n        name: primary\n        nodes: ["127.0.0.1:26379"]\n',
      19,
      'tokens.revocation.redis.sentinel: give one of url, sentinel and cluster, not url and sentinel',
    ],
    [
      '      sentinel:\n        name: primary\n        nodes: ["127.0.0.1:26379"]\n      cluster:\n        nodes: ["127.0.0.1:7000"]\n',
      21,
      'tokens.revocation.redis.cluster: give one of url, sentinel and cluster, not sentinel and cluster',
    ],
    [
      '      timeout: 200ms\n',
      17,
      'tokens.revocation.redis: give url (one server), sentinel (name and nodes) or cluster (nodes)',
    ],
    [
      '      cluster:\n        nodes: ["redis-a"]\n',
      18,
      'tokens.revocation.redis.cluster.nodes[0]: expected host:port (an IPv6 host in brackets',
    ],
    ['      cluster:\n        nodes: []\n', 18, 'tokens.revocation.redis.cluster.nodes'],
    [
      '      cluster:\n        nodes: ["127.0.0.1:7000"]\n        password: X\n        password_file: cluster.password\n',
      20,
      'tokens.revocation.redis.cluster.password_file: set password or password_file, not both',
    ],
    [
      '      password: X\n      cluster:\n        nodes: ["127.0.0.1:7000"]\n        password_file: cluster.password\n',
      20,
      'tokens.revocation.redis.cluster.password_file: the password is in cluster and in redis password or password_file: give it once',
    ],
    [
      '      sentinel:\n        name: primary\n        nodes: ["sentinel-a"]\n',
      19,
      'tokens.revocation.redis.sentinel.nodes[0]: expected host:port (an IPv6 host in brackets',
    ],
    [
      '      sentinel:\n        name: primary\n        nodes: []\n',
      19,
      'tokens.revocation.redis.sentinel.nodes',
    ],
    [
      '      sentinel:\n        name: primary\n        nodes: ["127.0.0.1:26379"]\n        password: X\n        password_file: sentinel.password\n',
      21,
      'tokens.revocation.redis.sentinel.password_file: set password or password_file, not both',
    ],
  ])('refuses %j', async (redis, line, message) => {
    const file = await writeConfig('refused.yaml', redis);
    const result = await loadConfigFile(file, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.join('\n')).toContain(`${file}:${line}: ${message}`);
  });

  it('accepts a sentinel set, IPv6 nodes included', async () => {
    const file = await writeConfig(
      'sentinel.yaml',
      '      sentinel:\n        name: primary\n        nodes: ["sentinel-a:26379", "10.0.0.2:26379", "[::1]:26379"]\n',
    );
    const checked = await checkConfig(file, {});
    expect(checked.lines[0]).toBe(`${file}: configuration is valid`);
  });

  it("check names an unreadable sentinels' password file, with its line", async () => {
    const file = await writeConfig(
      'sentinel-secret.yaml',
      '      sentinel:\n        name: primary\n        nodes: ["127.0.0.1:26379"]\n        password_file: missing.password\n',
    );
    const checked = await checkConfig(file, {});
    expect(checked.ok).toBe(false);
    expect(checked.lines).toEqual([
      `${file}:20: tokens.revocation.redis.sentinel.password_file: cannot read missing.password (ENOENT)`,
    ]);
  });

  it('accepts a cluster, IPv6 nodes included', async () => {
    const file = await writeConfig(
      'cluster.yaml',
      '      cluster:\n        nodes: ["redis-a:6379", "10.0.0.2:6379", "[::1]:7000"]\n',
    );
    const checked = await checkConfig(file, {});
    expect(checked.lines[0]).toBe(`${file}: configuration is valid`);
  });

  it("reads the cluster nodes' password from its file", async () => {
    await writeFile(path.join(dir, 'cluster.password'), 'cluster-secret\n', { mode: 0o600 });
    const file = await writeConfig(
      'cluster-secret-ok.yaml',
      '      cluster:\n        nodes: ["127.0.0.1:7000"]\n        password_file: cluster.password\n',
    );
    const result = await loadConfigFile(file, {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.loaded.config.tokens.revocation.redis?.cluster?.password).toBe('cluster-secret');
  });

  it('check names an unreadable cluster password file, with its line', async () => {
    const file = await writeConfig(
      'cluster-secret.yaml',
      '      cluster:\n        nodes: ["127.0.0.1:7000"]\n        password_file: missing.password\n',
    );
    const checked = await checkConfig(file, {});
    expect(checked.ok).toBe(false);
    expect(checked.lines).toEqual([
      `${file}:19: tokens.revocation.redis.cluster.password_file: cannot read missing.password (ENOENT)`,
    ]);
  });
});
