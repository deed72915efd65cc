/**
 * Two replicas sharing Redis (`pushed_authorization.store: redis`, a real redis-server): a
 * request pushed at one is authorized at the other and its code redeemed at the first; each
 * request_uri and code is handed out once across both; Redis holds digests, never a usable
 * request_uri or code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../cache/redis-server.js';
import { postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import {
  APP,
  clientAssertion,
  FAPI2_PROOF_ALGORITHMS,
  heldClientRule,
  type InstantLogin,
  pkcePair,
  push,
  pushedParams,
  redeem,
  startInstantLogin,
  tokenProof,
} from './instant-login.js';

let redis: TestRedis;
let login: InstantLogin;
let second: TestGateway;

beforeAll(async () => {
  redis = await startRedis();
  const shared = { pushed_authorization: { store: 'redis', redis: { url: redis.url } } };
  const proofAlgorithms = { dpop: { algorithms: [...FAPI2_PROOF_ALGORITHMS] } };
  login = await startInstantLogin(shared);
  second = await startTestGateway({
    upstreamUrl: login.upstream.url,
    config: {
      ...shared,
      tokens: proofAlgorithms,
      issuer: login.gateway.issuer,
      profile: 'fapi2',
      clients: [heldClientRule(APP)],
    },
  });
});

afterAll(async () => {
  await second?.close();
  await login?.close();
  await redis?.stop();
});

async function pushAtFirst(challenge: string): Promise<string> {
  const answer = await push(login.gateway, pushedParams(APP, challenge));
  expect(answer.status).toBe(201);
  return ((await answer.json()) as { request_uri: string }).request_uri;
}

const authorizeAt = (base: string, request_uri: string) =>
  fetch(`${base}/authorize?${new URLSearchParams({ client_id: APP.client_id, request_uri })}`, {
    redirect: 'manual',
  });

describe('the profile across replicas sharing Redis', () => {
  it('pushed at one replica, authorized at the other, redeemed at the first, each once', async () => {
    const { verifier, challenge } = pkcePair();
    const requestUri = await pushAtFirst(challenge);
    const authorized = await authorizeAt(second.url, requestUri);
    expect(authorized.status).toBe(302);
    const callback = new URL(authorized.headers.get('location') as string);
    expect(callback.searchParams.get('iss')).toBe(login.gateway.issuer);
    // The request_uri is gone for both.
    const again = await authorizeAt(login.gateway.issuer, requestUri);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_request_uri' });

    const code = callback.searchParams.get('code') as string;
    const keys = await redis.client.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatch(/^scopegate:par:(?:pushed|pending|code):[A-Za-z0-9_-]{43}$/);
      expect(key).not.toContain(code);
    }
    expect((await redeem(login.gateway, { code, verifier })).status).toBe(200);
    const reused = await fetch(`${second.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        dpop: await tokenProof(login.gateway),
      },
      body: new URLSearchParams({
        ...(await clientAssertion(login.gateway, APP.client_id)),
        grant_type: 'authorization_code',
        code,
        client_id: APP.client_id,
        redirect_uri: APP.redirect_uri,
        code_verifier: verifier,
      }).toString(),
    });
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('fails closed when Redis is gone: 503, never a pushed request taken on trust', async () => {
    const stopped = await startRedis();
    const lost = await startTestGateway({
      upstreamUrl: login.upstream.url,
      config: {
        pushed_authorization: { store: 'redis', redis: { url: stopped.url, timeout: '100ms' } },
        tokens: { dpop: { algorithms: [...FAPI2_PROOF_ALGORITHMS] } },
        profile: 'fapi2',
        clients: [heldClientRule(APP)],
      },
    });
    try {
      await stopped.stop();
      // The replica's issuer is the harness's placeholder: the assertion names it.
      const answer = await postForm(`${lost.url}/par`, {
        ...pushedParams(APP, pkcePair().challenge),
        ...(await clientAssertion({ issuer: String(lost.config.issuer) }, APP.client_id)),
      });
      expect(answer.status).toBe(503);
      expect(await answer.json()).toMatchObject({ error: 'temporarily_unavailable' });
    } finally {
      await lost.close();
    }
  });
});
