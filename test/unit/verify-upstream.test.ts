/**
 * Verification against the upstream JWKS when the token does not say which key signed it.
 */
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamKeys } from '../../proxy/upstream/upstream-keys.js';
import { verifyUpstreamToken } from '../../proxy/upstream/verify-upstream.js';
import { type JwksServer, startJwksServer } from '../support/jwks-server.js';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

const ISSUER = 'https://upstream.test/';
let server: JwksServer;
let published: Array<{ privateKey: PrivateKey; jwk: JWK }>;

async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function sign(privateKey: PrivateKey, header: Record<string, string> = {}) {
  return new SignJWT({ scope: 'read', client_id: 'c' })
    .setProtectedHeader({ alg: 'ES256', ...header })
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
}

function verify(token: string) {
  const keys = new UpstreamKeys({
    jwksUri: async () => server.url,
    maxAgeMs: 60_000,
    cooldownMs: 30_000,
    staleIfErrorMs: 60_000,
    timeoutMs: 2000,
  });
  return verifyUpstreamToken(token, {
    keys,
    issuer: ISSUER,
    algorithms: ['ES256'],
    clockToleranceSec: 0,
    minLifetimeSec: 1,
    audiences: [],
  });
}

beforeAll(async () => {
  published = [await keyPair('first'), await keyPair('second')];
  server = await startJwksServer(published.map((key) => key.jwk));
});
afterAll(async () => {
  await server?.close();
});

describe('tokens without kid against a JWKS with several keys', () => {
  it.each([0, 1])('accepts a token signed by published key %i', async (index) => {
    const token = await sign((published[index] as { privateKey: PrivateKey }).privateKey);
    await expect(verify(token)).resolves.toMatchObject({ scope: 'read', iss: ISSUER });
  });

  it('refuses a token signed by a key that is not published', async () => {
    const stranger = await keyPair('stranger');
    await expect(verify(await sign(stranger.privateKey))).rejects.toMatchObject({
      error: 'server_error',
      status: 502,
    });
  });

  it('still uses the kid when there is one', async () => {
    const token = await sign((published[1] as { privateKey: PrivateKey }).privateKey, {
      kid: 'first',
    });
    await expect(verify(token)).rejects.toMatchObject({ status: 502 });
  });
});
