/**
 * Two scopegate replicas sharing a real redis-server (`tokens.replay.store: redis`): an assertion
 * used at one is refused at the other. And the bound on fetches: assertions naming kids the client
 * never published do not make scopegate fetch the client's jwks_uri again within the cooldown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../cache/redis-server.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import {
  API,
  assertionClaims,
  type ClientKey,
  clientKey,
  type JwksServer,
  oauthError,
  postWithAssertion,
  signAssertion,
  startJwksServer,
} from './client-auth-harness.js';

const CLIENT = 'replicated-client';
const UPSTREAM_SECRET = 'replicated-client secret at the upstream';
const ISSUER = 'https://gateway.test';

let redis: TestRedis;
let upstream: RunningAuth0Emulator;
let keys: JwksServer;
let key: ClientKey;
let replicas: TestGateway[] = [];

beforeAll(async () => {
  key = await clientKey('replicated-1');
  [redis, upstream, keys] = await Promise.all([
    startRedis(),
    startAuth0Emulator({
      clients: [
        { clientId: CLIENT, clientSecret: UPSTREAM_SECRET, grants: { [API]: ['read:claims'] } },
      ],
      defaultAudience: API,
    }),
    startJwksServer([key.publicJwk]),
  ]);
  const config = {
    tokens: { replay: { store: 'redis', redis: { url: redis.url } } },
    clients: [
      {
        client_id: CLIENT,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: keys.url,
        upstream_auth: { method: 'client_secret_post', client_secret: UPSTREAM_SECRET },
      },
    ],
  };
  replicas = await Promise.all(
    [0, 1].map(() => startTestGateway({ upstreamUrl: upstream.url, scopeRequest: 'omit', config })),
  );
});

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
  await Promise.all([upstream?.close(), keys?.close(), redis?.stop()]);
});

const tokenUrl = (replica: TestGateway | undefined) => `${replica?.url}/oauth/token`;

describe('replicas sharing Redis', () => {
  it('refuse at one replica an assertion already used at the other', async () => {
    const assertion = await signAssertion(assertionClaims(CLIENT, ISSUER), key);
    const first = await postWithAssertion(tokenUrl(replicas[0]), assertion);
    expect(first.status, await first.clone().text()).toBe(200);
    const replayed = await oauthError(await postWithAssertion(tokenUrl(replicas[1]), assertion));
    expect(replayed).toMatchObject({ status: 401, error: 'invalid_client' });
    expect(replayed.description).toMatch(/already used/);
    // Remembered in Redis for the assertion's window only, namespaced apart from DPoP proofs.
    const remembered = await redis.client.keys('scopegate:seen:assertion:*');
    expect(remembered.length).toBeGreaterThan(0);
    const ttl = await redis.client.pttl(remembered[0] as string);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });
});

describe("fetching a client's jwks_uri", () => {
  it('is not driven by assertions naming kids the client never published', async () => {
    const replica = replicas[0];
    const warm = await postWithAssertion(
      tokenUrl(replica),
      await signAssertion(assertionClaims(CLIENT, ISSUER), key),
    );
    expect(warm.status).toBe(200);
    const fetches = keys.fetches();
    for (let attempt = 0; attempt < 5; attempt++) {
      const stranger = await clientKey(`made-up-${attempt}`);
      const refused = await oauthError(
        await postWithAssertion(
          tokenUrl(replica),
          await signAssertion(assertionClaims(CLIENT, ISSUER), stranger),
        ),
      );
      expect(refused).toMatchObject({ status: 401, error: 'invalid_client' });
    }
    // Within client_auth.jwks_uri.cooldown (30s by default): no fetch at all.
    expect(keys.fetches()).toBe(fetches);
  });
});
