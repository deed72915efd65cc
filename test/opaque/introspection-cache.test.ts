/**
 * The introspection cache (upstream.introspection.cache_max_age) in front of node-oidc-provider
 * issuing opaque tokens, with the calls counted at the upstream's introspection endpoint: the
 * same token is introspected once, concurrent misses share one call, inactive answers are never
 * kept, an entry ends at its max age or before the token runs out (tokens.min_lifetime), 0s asks
 * every time, and a revoked token is accepted no longer than the max age.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, type ExchangeAnswer, exchange } from '../exchange/exchange-support.js';
import { type OidcUpstream, startOidcUpstream } from '../fixtures/oidc-upstream.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { sleep } from '../support/wait.js';

const CC = { authorization: basic('cc-client', 'cc-secret') };
const CLIENTS = [
  { client_id: 'cc-client', client_secret: 'cc-secret', scope: 'api:read api:write' },
  { client_id: 'scopegate', client_secret: 'introspector-secret', scope: 'openid' },
];
const CACHE_KEY = 'introspection-cache-test-key-0123456789';

let upstream: OidcUpstream;
/** Tokens that live 12s: with tokens.min_lifetime 10s, an entry may be used for about 2s. */
let shortLived: OidcUpstream;
const gateways: Record<string, TestGateway> = {};

beforeAll(async () => {
  [upstream, shortLived] = await Promise.all([
    startOidcUpstream({
      accessTokenFormat: 'opaque',
      introspection: true,
      revocation: true,
      clients: CLIENTS,
    }),
    startOidcUpstream({
      accessTokenFormat: 'opaque',
      introspection: true,
      accessTokenTtl: 12,
      clients: CLIENTS,
    }),
  ]);
  const start = (
    name: string,
    target: OidcUpstream,
    cacheMaxAge: string | undefined,
    extra: Record<string, unknown> = {},
  ) =>
    startTestGateway({
      upstreamUrl: target.url,
      tokenPath: target.tokenPath,
      config: {
        upstream: {
          url: target.url,
          token_path: target.tokenPath,
          token_format: 'opaque',
          introspection: {
            client_id: 'scopegate',
            client_secret: 'introspector-secret',
            jwt_response: 'never',
            ...(cacheMaxAge === undefined ? {} : { cache_max_age: cacheMaxAge }),
          },
        },
        ...extra,
      },
    }).then((gateway) => {
      gateways[name] = gateway;
    });
  await Promise.all([
    // The default max age (30s); cc-client's upstream answers come from the upstream token
    // cache, so the same opaque token arrives again at the token endpoint.
    start('cached', upstream, undefined, {
      clients: [{ client_id: 'cc-client', cache: true }],
      cache: { upstream_tokens: { key: CACHE_KEY } },
    }),
    start('uncached', upstream, '0s', {
      clients: [{ client_id: 'cc-client', cache: true }],
      cache: { upstream_tokens: { key: CACHE_KEY } },
    }),
    start('oneSecond', upstream, '1s'),
    start('shortLived', shortLived, '1h'),
  ]);
});

afterAll(async () => {
  await Promise.all(Object.values(gateways).map((gateway) => gateway.close()));
  await Promise.all([upstream?.close(), shortLived?.close()]);
});

function gateway(name: string): TestGateway {
  return gateways[name] as TestGateway;
}

/** A fresh opaque token straight from the upstream, as a service behind it would hold. */
async function opaqueToken(from = upstream): Promise<string> {
  const response = await postForm(
    from.tokenEndpoint,
    { grant_type: 'client_credentials', scope: 'api:read api:write' },
    CC,
  );
  const body = (await response.json()) as { access_token: string };
  expect(body.access_token.split('.')).toHaveLength(1);
  return body.access_token;
}

async function revoke(token: string): Promise<void> {
  const response = await postForm(
    upstream.revocationEndpoint,
    { token, token_type_hint: 'access_token' },
    CC,
  );
  expect(response.status).toBe(200);
}

/** Introspection calls the upstream received while `run` ran. */
async function callsDuring<T>(
  target: OidcUpstream,
  run: () => Promise<T>,
): Promise<{ calls: number; result: T }> {
  const before = target.introspectionCalls();
  const result = await run();
  return { calls: target.introspectionCalls() - before, result };
}

function narrow(name: string, token: string, from = upstream): Promise<ExchangeAnswer> {
  return exchange(gateway(name), from.tokenPath, token, { scope: 'api:read' });
}

describe('introspection cache', () => {
  it('introspects a token once for repeated exchanges, with hits and misses counted', async () => {
    const token = await opaqueToken();
    const before = await scrape(gateway('cached').adminUrl);
    const { calls, result } = await callsDuring(upstream, async () => {
      const answers: ExchangeAnswer[] = [];
      for (let index = 0; index < 10; index++) answers.push(await narrow('cached', token));
      return answers;
    });
    expect(calls).toBe(1);
    for (const answer of result) {
      expect(answer.status).toBe(200);
      expect(answer.claims).toMatchObject({ client_id: 'cc-client', scope: 'api:read' });
    }
    expect(new Set(result.map((answer) => answer.claims?.jti)).size).toBe(10);
    const after = await scrape(gateway('cached').adminUrl);
    const delta = (name: string) =>
      after.value(name, { cache: 'introspection' }) -
      before.value(name, { cache: 'introspection' });
    expect(delta('scopegate_cache_hits_total')).toBe(9);
    expect(delta('scopegate_cache_misses_total')).toBe(1);
  });

  it('asks once for the same upstream answer at the token endpoint (upstream token cache)', async () => {
    const request = () =>
      postForm(
        `${gateway('cached').url}${upstream.tokenPath}`,
        { grant_type: 'client_credentials', scope: 'api:read' },
        CC,
      ).then(readTokenAnswer);
    const { calls, result } = await callsDuring(upstream, async () => [
      await request(),
      await request(),
      await request(),
    ]);
    for (const answer of result) expect(answer.status).toBe(200);
    expect(calls).toBe(1);
  });

  it('shares one call between concurrent exchanges of the same token', async () => {
    const token = await opaqueToken();
    const { calls, result } = await callsDuring(upstream, () =>
      Promise.all(Array.from({ length: 8 }, () => narrow('cached', token))),
    );
    expect(result.map((answer) => answer.status)).toEqual(Array(8).fill(200));
    expect(calls).toBe(1);
  });

  it('never keeps an inactive answer', async () => {
    const { calls, result } = await callsDuring(upstream, async () => [
      await narrow('cached', 'no-such-token'),
      await narrow('cached', 'no-such-token'),
    ]);
    expect(calls).toBe(2);
    for (const answer of result) {
      expect(answer.status).toBe(400);
      expect(answer.body.error_description).toBe(
        'the subject_token is not valid: introspection: token not active',
      );
    }
  });

  it('asks every time with cache_max_age 0s, and sees a revocation at once', async () => {
    const token = await opaqueToken();
    const { calls } = await callsDuring(upstream, async () => {
      expect((await narrow('uncached', token)).status).toBe(200);
      expect((await narrow('uncached', token)).status).toBe(200);
    });
    expect(calls).toBe(2);
    const request = () =>
      postForm(
        `${gateway('uncached').url}${upstream.tokenPath}`,
        { grant_type: 'client_credentials', scope: 'api:read' },
        CC,
      ).then(readTokenAnswer);
    const atTokenEndpoint = await callsDuring(upstream, async () => [
      await request(),
      await request(),
    ]);
    expect(atTokenEndpoint.calls).toBe(2);
    await revoke(token);
    const refused = await narrow('uncached', token);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
  });

  it('accepts a revoked token no longer than cache_max_age', async () => {
    const token = await opaqueToken();
    expect((await narrow('oneSecond', token)).status).toBe(200);
    await revoke(token);
    // The documented trade-off: the kept answer still stands until it is a second old.
    const kept = await callsDuring(upstream, () => narrow('oneSecond', token));
    expect(kept.calls).toBe(0);
    expect(kept.result.status).toBe(200);
    await sleep(1100);
    const asked = await callsDuring(upstream, () => narrow('oneSecond', token));
    expect(asked.calls).toBe(1);
    expect(asked.result.status).toBe(400);
    expect(asked.result.body.error_description).toBe(
      'the subject_token is not valid: introspection: token not active',
    );
  });

  it('ends an entry before the token runs out, whatever the max age', async () => {
    const token = await opaqueToken(shortLived);
    const early = await callsDuring(shortLived, async () => [
      await narrow('shortLived', token, shortLived),
      await narrow('shortLived', token, shortLived),
    ]);
    expect(early.calls).toBe(1);
    // exp - tokens.min_lifetime (10s) is at most 2s after issue: the entry is gone by then, and
    // the upstream is asked again. Its fresh answer is held to the same rule as a JWT: with
    // under 10s left (whole seconds, so wait past 3s) the token is refused, not re-issued.
    await sleep(3200);
    const late = await callsDuring(shortLived, () => narrow('shortLived', token, shortLived));
    expect(late.calls).toBe(1);
    expect(late.result.status).toBe(400);
    expect(late.result.body.error_description).toBe(
      'the subject_token is not valid: introspection: token expired or expires too soon',
    );
  });
});
