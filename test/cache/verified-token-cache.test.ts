/**
 * The verified-token memo (proxy/upstream/verified-token-cache.ts): a token verified once is
 * answered from memory until its exp and no later; another audience is verified on its own;
 * failures are never kept; the shared claims cannot be altered by a caller.
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamKeys } from '../../proxy/upstream/upstream-keys.js';
import { VerifiedTokenCache } from '../../proxy/upstream/verified-token-cache.js';
import type { VerifyOptions } from '../../proxy/upstream/verify-upstream.js';
import { type JwksServer, startJwksServer } from '../support/jwks-server.js';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

const ISSUER = 'https://upstream.test/';
let server: JwksServer;
let signingKey: PrivateKey;
let otherKey: PrivateKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k', alg: 'ES256', use: 'sig' };
  server = await startJwksServer([jwk]);
});
afterAll(async () => {
  await server?.close();
});

function options(audiences: string[] = []): VerifyOptions & { fetches: () => number } {
  let fetches = 0;
  const keys = new UpstreamKeys({
    jwksUri: async () => server.url,
    maxAgeMs: 60_000,
    cooldownMs: 0,
    staleIfErrorMs: 60_000,
    timeoutMs: 2000,
  });
  const verifyJws = keys.verifyJws.bind(keys);
  // Counts the signature checks verification makes: one per real verification.
  const counted = Object.create(keys, {
    verifyJws: {
      value: (...args: Parameters<typeof verifyJws>) => {
        fetches += 1;
        return verifyJws(...args);
      },
    },
  }) as UpstreamKeys;
  return {
    keys: counted,
    issuer: ISSUER,
    algorithms: ['ES256'],
    clockToleranceSec: 0,
    minLifetimeSec: 0,
    audiences,
    fetches: () => fetches,
  };
}

function sign(key: PrivateKey, expSec: number, aud = 'api') {
  return new SignJWT({ scope: 'read', nested: { list: ['a'] } })
    .setProtectedHeader({ alg: 'ES256', kid: 'k' })
    .setIssuer(ISSUER)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime(expSec)
    .sign(key);
}

describe('verified-token memo', () => {
  it('verifies once, then answers from memory until exp, then verifies again', async () => {
    let now = Date.now();
    const memo = new VerifiedTokenCache(undefined, () => now);
    const verify = options(['api']);
    const exp = Math.floor(now / 1000) + 600;
    const token = await sign(signingKey, exp);
    const first = await memo.verify(token, verify);
    expect(first.scope).toBe('read');
    expect(await memo.verify(token, verify)).toBe(first);
    expect(verify.fetches()).toBe(1);
    now = exp * 1000 + 1;
    // Past exp the memo is no answer: verification runs (and jose refuses by its own clock only
    // when the real clock passes exp, so here it verifies again rather than failing).
    await memo.verify(token, verify);
    expect(verify.fetches()).toBe(2);
  });

  it('verifies another audience set on its own', async () => {
    const memo = new VerifiedTokenCache();
    const token = await sign(signingKey, Math.floor(Date.now() / 1000) + 600);
    const verify = options(['api']);
    await memo.verify(token, verify);
    const other = options(['billing']);
    await expect(memo.verify(token, other)).rejects.toThrow();
    expect(other.fetches()).toBe(1);
  });

  it('keeps no failure: a bad signature is refused every time', async () => {
    const memo = new VerifiedTokenCache();
    const forged = await sign(otherKey, Math.floor(Date.now() / 1000) + 600);
    const verify = options();
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(memo.verify(forged, verify)).rejects.toThrow();
    }
    expect(verify.fetches()).toBe(3);
  });

  it("judges a kept verification by the caller's minimum lifetime and issuer", async () => {
    const memo = new VerifiedTokenCache();
    const token = await sign(signingKey, Math.floor(Date.now() / 1000) + 600);
    const lenient = options(['api']);
    await memo.verify(token, lenient);
    expect(lenient.fetches()).toBe(1);
    // Ten minutes left; a caller that needs twenty is not answered from memory.
    const strict = { ...options(['api']), minLifetimeSec: 1200 };
    await expect(memo.verify(token, strict)).rejects.toThrow();
    expect(strict.fetches()).toBe(1);
    // Nor is one that expects another issuer (a discovered issuer may change under a runtime).
    const elsewhere = { ...options(['api']), issuer: 'https://other.test/' };
    await expect(memo.verify(token, elsewhere)).rejects.toThrow();
  });

  it('hands out frozen claims', async () => {
    const memo = new VerifiedTokenCache();
    const token = await sign(signingKey, Math.floor(Date.now() / 1000) + 600);
    const claims = await memo.verify(token, options());
    expect(Object.isFrozen(claims)).toBe(true);
    expect(Object.isFrozen((claims.nested as { list: string[] }).list)).toBe(true);
  });
});
