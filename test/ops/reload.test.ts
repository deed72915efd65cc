import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { type SpawnedScopegate, spawnScopegate } from '../support/cli-process.js';
import {
  postForm,
  prepareTestConfig,
  startTestGateway,
  type TestConfig,
  type TestGateway,
} from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

const API = 'https://api.example.com';
let upstream: RunningAuth0Emulator;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [
      {
        clientId: 'm2m',
        clientSecret: 'm2m-secret',
        grants: { [API]: ['read:claims', 'write:claims'] },
      },
    ],
    defaultAudience: API,
  });
});

afterAll(async () => {
  await upstream?.close();
});

/** Asks for one granted and one ungranted scope: 400 under `reject`, 200 narrowed under `drop`. */
function mixedRequest(url: string) {
  return postForm(`${url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: 'm2m',
    client_secret: 'm2m-secret',
    scope: 'read:claims admin:all',
  });
}

type Config = Record<string, unknown> & { tokens?: Record<string, unknown> };

function withDrop(config: Record<string, unknown>): Config {
  return { ...config, tokens: { on_unauthorized_scope: 'drop' } };
}

async function reloads(adminUrl: string | undefined, result: 'success' | 'failure') {
  return (await scrape(adminUrl)).value('scopegate_config_reloads_total', { result });
}

describe('reload in process (instance.reload())', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ upstreamUrl: upstream.url, scopeRequest: 'omit' });
    await waitFor(() => gateway.instance.readiness().ready, 'readiness');
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('keeps serving with the old config when the new file is invalid, and says why', async () => {
    expect((await mixedRequest(gateway.url)).status).toBe(400);
    await gateway.writeConfig({
      ...gateway.config,
      tokens: { on_unauthorized_scope: 'sometimes' },
      surprise: 1,
    });
    expect(await gateway.instance.reload()).toBe(false);
    expect(gateway.instance.runtime().generation).toBe(1);
    expect((await mixedRequest(gateway.url)).status).toBe(400);
    expect(gateway.instance.readiness().ready).toBe(true);
    const failure = gateway.logs
      .records()
      .find((record) => record.msg === 'config reload failed; keeping the current config');
    const errors = ((failure?.errors ?? []) as string[]).join('\n');
    expect(errors).toContain('tokens.on_unauthorized_scope');
    expect(errors).toContain('surprise: unknown key');
    expect(await reloads(gateway.adminUrl, 'failure')).toBe(1);
  });

  it('keeps the old config when a key file of the new one cannot be loaded', async () => {
    const config = structuredClone(gateway.config) as {
      signing: { keys: Array<Record<string, unknown>> };
    };
    config.signing.keys.push({
      kid: 'ghost',
      alg: 'ES256',
      private_key_file: 'ghost.pem',
      status: 'next',
    });
    await gateway.writeConfig(config);
    expect(await gateway.instance.reload()).toBe(false);
    expect(gateway.logs.text()).toContain('cannot read ghost.pem (ENOENT)');
    expect(gateway.instance.runtime().signingKeys.keys.map((key) => key.kid)).toEqual(['test-key']);
  });

  it('applies a valid config atomically: new Runtime, new decision cache, same upstream caches', async () => {
    const before = gateway.instance.runtime();
    await gateway.writeConfig(withDrop(gateway.config));
    expect(await gateway.instance.reload()).toBe(true);
    const after = gateway.instance.runtime();
    expect(after.generation).toBe(before.generation + 1);
    expect(after.config.tokens.on_unauthorized_scope).toBe('drop');
    // Config-dependent caches go with the old Runtime ...
    expect(after.decider).not.toBe(before.decider);
    // ... the upstream's keys and discovery document stay: the upstream settings did not change.
    expect(after.upstreamKeys).toBe(before.upstreamKeys);
    expect(after.discovery).toBe(before.discovery);
    const response = await mixedRequest(gateway.url);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { scope: string }).scope).toBe('read:claims');
  });

  it('drops the upstream caches when the upstream settings change, and stays ready', async () => {
    const before = gateway.instance.runtime();
    const jwksBefore = upstream.jwksRequests();
    const config = withDrop(gateway.config);
    config.upstream = { ...(gateway.config.upstream as object), timeout: '3s' };
    await gateway.writeConfig(config);
    expect(await gateway.instance.reload()).toBe(true);
    const after = gateway.instance.runtime();
    expect(after.upstreamKeys).not.toBe(before.upstreamKeys);
    expect(after.discovery).not.toBe(before.discovery);
    // The new upstream's keys were fetched before the switch: readiness never dropped.
    expect(after.upstreamKeys.loaded).toBe(true);
    expect(gateway.instance.readiness().ready).toBe(true);
    expect(upstream.jwksRequests()).toBe(jwksBefore + 1);
  });

  it('runs concurrent reloads one after another and ends on the latest file', async () => {
    const start = gateway.instance.runtime().generation;
    await gateway.writeConfig(gateway.config);
    const results = await Promise.all([
      gateway.instance.reload(),
      gateway.instance.reload(),
      gateway.instance.reload(),
      gateway.instance.reload(),
    ]);
    expect(results).toEqual([true, true, true, true]);
    // One running, the rest coalesced into a single follow-up reload.
    expect(gateway.instance.runtime().generation).toBe(start + 2);
    expect(gateway.instance.runtime().config.tokens.on_unauthorized_scope).toBe('reject');
  });
});

describe('reload when the file changes (server.watch_config)', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({
      upstreamUrl: upstream.url,
      scopeRequest: 'omit',
      config: { server: { watch_config: true, shutdown_grace: '5s' } },
    });
    await waitFor(() => gateway.instance.readiness().ready, 'readiness');
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('reloads a changed file, rejects an invalid one and keeps serving', async () => {
    await gateway.writeConfig(withDrop(gateway.config));
    await waitFor(() => gateway.instance.runtime().generation === 2, 'the reload');
    expect((await mixedRequest(gateway.url)).status).toBe(200);

    await writeFile(gateway.configFile, 'issuer: [unclosed\n');
    await waitFor(async () => (await reloads(gateway.adminUrl, 'failure')) === 1, 'the failure');
    expect(gateway.instance.runtime().generation).toBe(2);
    expect((await mixedRequest(gateway.url)).status).toBe(200);
  });

  it('notices an editor-style save (new file renamed over the old one)', async () => {
    const temporary = path.join(gateway.dir, '.scopegate.yaml.tmp');
    await writeFile(temporary, stringify(gateway.config));
    await rename(temporary, gateway.configFile);
    await waitFor(() => gateway.instance.runtime().generation === 3, 'the reload');
    expect((await mixedRequest(gateway.url)).status).toBe(400);
  });

  it('ignores writes that do not change the content', async () => {
    const successes = await reloads(gateway.adminUrl, 'success');
    await gateway.writeConfig(gateway.config);
    await writeFile(path.join(gateway.dir, 'unrelated.txt'), 'noise');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await reloads(gateway.adminUrl, 'success')).toBe(successes);
  });

  it('retries a config that names a missing key file once the key file appears', async () => {
    const config = structuredClone(gateway.config) as {
      signing: { keys: Array<Record<string, unknown>> };
    };
    config.signing.keys.push({
      kid: 'later',
      alg: 'ES256',
      private_key_file: 'later.pem',
      status: 'next',
    });
    const failures = await reloads(gateway.adminUrl, 'failure');
    const generation = gateway.instance.runtime().generation;
    await gateway.writeConfig(config);
    await waitFor(
      async () => (await reloads(gateway.adminUrl, 'failure')) === failures + 1,
      'the failed reload',
    );
    // The key arrives later (a Secret volume updated after the ConfigMap).
    await gateway.addKey({ kid: 'later' });
    await waitFor(() => gateway.instance.runtime().generation === generation + 1, 'the reload');
    expect(gateway.instance.runtime().signingKeys.keys.map((key) => key.kid)).toContain('later');
  });
});

describe('reload of the real process on SIGHUP', () => {
  let child: SpawnedScopegate | undefined;
  let prepared: TestConfig | undefined;

  afterEach(async () => {
    await child?.stop();
    await prepared?.remove();
  });

  it('keeps serving on an invalid file, applies a valid one', async () => {
    prepared = await prepareTestConfig({
      upstreamUrl: upstream.url,
      scopeRequest: 'omit',
      config: { server: { watch_config: false, shutdown_grace: '5s' } },
    });
    const setup = prepared;
    child = await spawnScopegate(setup.configFile);
    const proc = child;
    await waitFor(async () => (await fetch(`${proc.adminUrl}/readyz`)).status === 200, 'readiness');
    expect((await mixedRequest(proc.publicUrl)).status).toBe(400);

    await writeFile(setup.configFile, 'listen: [\n');
    proc.child.kill('SIGHUP');
    const failed = await proc.waitForLog(
      (record) => record.msg === 'config reload failed; keeping the current config',
      'the failed reload',
    );
    expect(Array.isArray(failed.errors)).toBe(true);
    expect((await mixedRequest(proc.publicUrl)).status).toBe(400);
    expect(await reloads(proc.adminUrl, 'failure')).toBe(1);

    await setup.writeConfig(withDrop(setup.config));
    proc.child.kill('SIGHUP');
    const reloaded = await proc.waitForLog(
      (record) => record.msg === 'config reloaded',
      'the reload',
    );
    expect(reloaded.generation).toBe(2);
    expect((await mixedRequest(proc.publicUrl)).status).toBe(200);
    expect(await reloads(proc.adminUrl, 'success')).toBe(1);

    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  });
});
