/**
 * The upstream token cache, in process (proxy/upstream/token-cache/), against the Auth0 emulator: a client
 * that opts in asks the upstream once per token lifetime, every answer is still its own freshly
 * signed narrowed token, concurrent misses share one call, and errors are never kept.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../config/load.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';

const AUDIENCE = 'https://api.example.com';
const CACHED = { clientId: 'cached-m2m', clientSecret: 'cached-secret' };
const UNCACHED = { clientId: 'plain-m2m', clientSecret: 'plain-secret' };
const CACHE_KEY = 'test-cache-key-0123456789abcdef0123456789';

/** The errors of a minimal valid config with `extra` merged in at the top level. */
function configErrors(extra: Record<string, unknown>): string[] {
  const config = {
    issuer: 'https://gateway.test',
    upstream: { url: 'https://idp.test' },
    signing: { keys: [{ kid: 'k', alg: 'ES256', private_key_file: 'k.pem' }] },
    ...extra,
  };
  const result = parseConfigText(stringify(config), 'cfg.yaml', {});
  return result.ok ? [] : result.errors;
}

let upstream: RunningAuth0Emulator;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [
      { ...CACHED, grants: { [AUDIENCE]: ['read', 'write', 'admin'] } },
      { ...UNCACHED, grants: { [AUDIENCE]: ['read', 'write', 'admin'] } },
    ],
    defaultAudience: AUDIENCE,
  });
});

afterAll(async () => {
  await upstream?.close();
});

afterEach(async () => {
  await gateway?.close();
});

async function start(): Promise<TestGateway> {
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    config: {
      clients: [{ client_id: CACHED.clientId, cache: true }],
      cache: { upstream_tokens: { key: CACHE_KEY } },
    },
  });
  return gateway;
}

function ask(client: { clientId: string; clientSecret: string }, scope?: string) {
  return postForm(`${gateway.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.clientSecret,
    audience: AUDIENCE,
    ...(scope ? { scope } : {}),
  }).then(readTokenAnswer);
}

function upstreamCalls(clientId: string): number {
  return upstream.tokenRequests().filter((request) => request.params.client_id === clientId).length;
}

describe('upstream token cache (in process)', () => {
  it('asks the upstream once for a steady client; every token is fresh and narrowed', async () => {
    await start();
    const before = upstreamCalls(CACHED.clientId);
    const answers = [];
    for (let index = 0; index < 20; index++) answers.push(await ask(CACHED, 'read'));
    expect(upstreamCalls(CACHED.clientId) - before).toBe(1);
    const jtis = new Set<unknown>();
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.claims?.scope).toBe('read');
      expect(answer.claims?.iss).toBe('https://gateway.test');
      jtis.add(answer.claims?.jti);
    }
    expect(jtis.size).toBe(20);
    // The same kept upstream answer narrows differently for a different request.
    const wider = await ask(CACHED, 'read write');
    expect(wider.claims?.scope).toBe('read write');
    expect(upstreamCalls(CACHED.clientId) - before).toBe(1);
    const metrics = await scrape(gateway.adminUrl);
    expect(metrics.value('scopegate_cache_hits_total', { cache: 'upstream_token' })).toBe(20);
    expect(metrics.value('scopegate_cache_misses_total', { cache: 'upstream_token' })).toBe(1);
    expect(metrics.value('scopegate_upstream_token_calls_saved_total')).toBe(20);
  });

  it('leaves clients without cache: true alone', async () => {
    await start();
    const before = upstreamCalls(UNCACHED.clientId);
    for (let index = 0; index < 3; index++) expect((await ask(UNCACHED, 'read')).status).toBe(200);
    expect(upstreamCalls(UNCACHED.clientId) - before).toBe(3);
  });

  it('never keeps an error: a wrong secret reaches the upstream every time', async () => {
    await start();
    const before = upstreamCalls(CACHED.clientId);
    const wrong = { ...CACHED, clientSecret: 'not-the-secret' };
    for (let index = 0; index < 3; index++) {
      const answer = await ask(wrong, 'read');
      expect(answer.status).toBe(401);
      expect(answer.body.access_token).toBeUndefined();
    }
    expect(upstreamCalls(CACHED.clientId) - before).toBe(3);
    // And the right secret is not answered from anything the wrong one left behind.
    expect((await ask(CACHED, 'read')).status).toBe(200);
    expect(upstreamCalls(CACHED.clientId) - before).toBe(4);
  });

  it('shares one upstream call between concurrent identical misses', async () => {
    await start();
    const before = upstreamCalls(CACHED.clientId);
    upstream.setDelay(300);
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => ask(CACHED, 'read')));
      for (const answer of answers) expect(answer.status).toBe(200);
      expect(new Set(answers.map((answer) => answer.claims?.jti)).size).toBe(8);
    } finally {
      upstream.setDelay(0);
    }
    expect(upstreamCalls(CACHED.clientId) - before).toBe(1);
  });

  it('keys by credentials and request: another secret or audience is another entry', async () => {
    await start();
    const before = upstreamCalls(CACHED.clientId);
    expect((await ask(CACHED)).status).toBe(200);
    const other = await postForm(`${gateway.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: CACHED.clientId,
      client_secret: CACHED.clientSecret,
      audience: 'https://other.example.com',
    });
    await other.arrayBuffer();
    expect(upstreamCalls(CACHED.clientId) - before).toBe(2);
  });
});

describe('cache configuration', () => {
  it('requires a key when a client rule sets cache, naming the path', () => {
    const errors = configErrors({
      clients: [{ client_id: 'x', cache: true }],
    });
    expect(errors.join('\n')).toMatch(/cache\.upstream_tokens\.key/);
  });

  it('refuses a short key and a redis backend without redis settings', () => {
    const errors = configErrors({
      cache: { upstream_tokens: { key: 'short', backend: 'redis' } },
    });
    expect(errors.join('\n')).toMatch(/cache\.upstream_tokens\.key.*32/);
    expect(errors.join('\n')).toMatch(/cache\.upstream_tokens\.redis/);
  });
});
