/**
 * What one request cannot show: a proof used at one replica is refused at another when both share
 * a real redis-server (`tokens.replay.store: redis`), and a public client's refresh token is bound
 * to the DPoP key it was issued with (RFC 9449 §5), against a programmable upstream that, like
 * Auth0, answers every refresh with a rotated refresh token.
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../cache/redis-server.js';
import { type CustomUpstream, startCustomUpstream } from '../support/custom-upstream.js';
import {
  jwtPayload,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

/** Both replicas publish the same issuer, as replicas behind one load balancer do. */
const ISSUER = 'https://gateway.test';
const HTU = `${ISSUER}/oauth/token`;

let upstream: CustomUpstream;
let redis: TestRedis;
let replicas: TestGateway[];
let refreshing: TestGateway;
let issued = 0;

beforeAll(async () => {
  upstream = await startCustomUpstream({ alg: 'ES256' });
  upstream.setHandler((request, idp) => {
    issued += 1;
    return idp.tokenResponse(
      { sub: 'user-1', client_id: request.params.client_id ?? 'unknown', scope: 'read write' },
      { refresh_token: `upstream-rt-${issued}` },
    );
  });
  redis = await startRedis();
  const replay = { store: 'redis', redis: { url: redis.url } };
  const refreshKey = randomBytes(32).toString('base64url');
  [replicas, refreshing] = await Promise.all([
    Promise.all(
      [0, 1].map(() =>
        startTestGateway({
          upstreamUrl: upstream.url,
          config: { issuer: ISSUER, tokens: { replay, refresh_token_key: refreshKey } },
        }),
      ),
    ),
    startTestGateway({
      upstreamUrl: upstream.url,
      config: { issuer: ISSUER, tokens: { refresh_token_key: refreshKey } },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([...(replicas ?? []).map((replica) => replica.close()), refreshing?.close()]);
  await redis?.stop();
  await upstream?.close();
});

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

async function proofBy(keyPair: KeyPair, change: JWTPayload = {}): Promise<string> {
  return new SignJWT({
    jti: randomBytes(12).toString('base64url'),
    htm: 'POST',
    htu: HTU,
    iat: Math.floor(Date.now() / 1000),
    ...change,
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(keyPair.publicKey) })
    .sign(keyPair.privateKey);
}

function token(target: TestGateway, params: Record<string, string>, proof?: string) {
  return fetch(`${target.url}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(proof === undefined ? {} : { dpop: proof }),
    },
    body: new URLSearchParams(params).toString(),
  });
}

/** A public client: it names itself and does not authenticate. */
const PUBLIC = { grant_type: 'client_credentials', client_id: 'spa', scope: 'read' };

describe('replay across replicas sharing Redis', () => {
  it('a proof used at one replica is refused at the other', async () => {
    const keyPair = await generateKeyPair('ES256');
    const proof = await proofBy(keyPair);
    const [first, second] = replicas as [TestGateway, TestGateway];
    const accepted = await readTokenAnswer(await token(first, PUBLIC, proof));
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body.token_type).toBe('DPoP');
    const replayed = await token(second, PUBLIC, proof);
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({ error: 'invalid_dpop_proof' });
  });

  it('the same jti under another key is a different proof, accepted', async () => {
    const jti = randomBytes(12).toString('base64url');
    const [first, second] = replicas as [TestGateway, TestGateway];
    const one = await token(first, PUBLIC, await proofBy(await generateKeyPair('ES256'), { jti }));
    const two = await token(second, PUBLIC, await proofBy(await generateKeyPair('ES256'), { jti }));
    expect([one.status, two.status]).toEqual([200, 200]);
  });
});

describe("a public client's refresh token is bound to its DPoP key", () => {
  let keyPair: KeyPair;
  let refreshToken: string;

  beforeAll(async () => {
    keyPair = await generateKeyPair('ES256');
    const answer = await readTokenAnswer(await token(refreshing, PUBLIC, await proofBy(keyPair)));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.claims?.cnf).toEqual({
      jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256'),
    });
    refreshToken = answer.body.refresh_token as string;
  });

  const refresh = (proof?: string) =>
    token(
      refreshing,
      { grant_type: 'refresh_token', client_id: 'spa', refresh_token: refreshToken },
      proof,
    );

  it('refused with another key, before the upstream is asked', async () => {
    const before = upstream.requests.length;
    const answer = await refresh(await proofBy(await generateKeyPair('ES256')));
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: 'invalid_grant' });
    expect(upstream.requests.length).toBe(before);
  });

  it('refused without a proof', async () => {
    const answer = await refresh();
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('accepted with the same key: a DPoP token, and the rotated refresh token stays bound', async () => {
    const answer = await readTokenAnswer(await refresh(await proofBy(keyPair)));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.token_type).toBe('DPoP');
    const rotated = answer.body.refresh_token as string;
    const again = await token(
      refreshing,
      { grant_type: 'refresh_token', client_id: 'spa', refresh_token: rotated },
      await proofBy(await generateKeyPair('ES256')),
    );
    expect(again.status).toBe(400);
  });

  it('a confidential client refresh is not bound to a key (RFC 9449 §5)', async () => {
    // client_secret_post: the programmable upstream names the client from the body.
    const credentials = { client_id: 'app', client_secret: 'secret' };
    const first = await fetch(`${refreshing.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        dpop: await proofBy(keyPair),
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'read',
        ...credentials,
      }).toString(),
    });
    const body = (await first.json()) as Record<string, unknown>;
    expect(first.status, JSON.stringify(body)).toBe(200);
    const other = await generateKeyPair('ES256');
    const refreshed = await fetch(`${refreshing.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        dpop: await proofBy(other),
      },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        ...credentials,
        refresh_token: body.refresh_token as string,
      }).toString(),
    });
    const refreshedBody = (await refreshed.json()) as Record<string, unknown>;
    expect(refreshed.status, JSON.stringify(refreshedBody)).toBe(200);
    // Bound to the key that proved this request.
    expect(jwtPayload(refreshedBody.access_token as string).cnf).toEqual({
      jkt: await calculateJwkThumbprint(await exportJWK(other.publicKey), 'sha256'),
    });
  });
});
