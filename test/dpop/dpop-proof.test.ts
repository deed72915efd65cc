/**
 * DPoP proof verification (RFC 9449 §4.3), one refusal per row, with real keys and signatures:
 * every check the proof must pass, each broken alone while the rest stays valid. Also the htu
 * comparison (§4.3: without query and fragment, normalised) and the stateless nonces (§8).
 */
import { createSign, KeyObject, randomBytes } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { DpopNonces } from '../../proxy/http/dpop-nonce.js';
import {
  accessTokenHash,
  DpopProofRefused,
  normalisedHtu,
  type ProofExpectations,
  verifyDpopProof,
} from '../../proxy/http/dpop-proof.js';

const URL_ = 'https://auth.example.com/oauth/token';
const NOW = 1_800_000_000_000;
const EXPECTED: ProofExpectations = {
  method: 'POST',
  url: URL_,
  algorithms: ['ES256', 'PS256', 'EdDSA', 'RS256'],
  nowMs: NOW,
  maxAgeMs: 60_000,
  skewMs: 5_000,
};

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let es256: KeyPair;
let publicJwk: JWK;
let privateJwk: JWK;

beforeAll(async () => {
  es256 = await generateKeyPair('ES256', { extractable: true });
  publicJwk = await exportJWK(es256.publicKey);
  privateJwk = await exportJWK(es256.privateKey);
});

interface ProofParts {
  header?: Record<string, unknown>;
  claims?: JWTPayload;
  /** Sign with this key instead (the header's jwk stays the ES256 one). */
  signWith?: KeyPair['privateKey'];
  alg?: string;
}

function claims(): JWTPayload {
  return { jti: 'proof-1', htm: 'POST', htu: URL_, iat: NOW / 1000 };
}

async function proof(parts: ProofParts = {}): Promise<string> {
  const header = { typ: 'dpop+jwt', alg: parts.alg ?? 'ES256', jwk: publicJwk, ...parts.header };
  return new SignJWT(parts.claims ?? claims())
    .setProtectedHeader(header as { alg: string })
    .sign(parts.signWith ?? es256.privateKey);
}

/** Signs header and payload text as given: members jose would refuse to write. */
function signRaw(headerText: string, payloadText: string): string {
  const head = Buffer.from(headerText).toString('base64url');
  const body = Buffer.from(payloadText).toString('base64url');
  const signature = createSign('SHA256')
    .update(`${head}.${body}`)
    .sign({ key: KeyObject.from(es256.privateKey as CryptoKey), dsaEncoding: 'ieee-p1363' });
  return `${head}.${body}.${signature.toString('base64url')}`;
}

const without = (name: string): JWTPayload => {
  const copy: JWTPayload = claims();
  delete copy[name];
  return copy;
};

describe('a valid proof', () => {
  it('verifies, naming its key thumbprint, jti, iat and nonce', async () => {
    const verified = await verifyDpopProof(await proof(), EXPECTED);
    expect(verified.jkt).toBe(await calculateJwkThumbprint(publicJwk, 'sha256'));
    expect(verified).toMatchObject({ jti: 'proof-1', iat: NOW / 1000, nonce: undefined });
  });

  it('at a resource, with ath over the presented token', async () => {
    const token = 'a.b.c';
    const signed = await proof({ claims: { ...claims(), ath: accessTokenHash(token) } });
    await expect(
      verifyDpopProof(signed, { ...EXPECTED, accessToken: token }),
    ).resolves.toBeTruthy();
  });

  it('with an htu that differs only by query, fragment, case, default port or escapes', async () => {
    const signed = await proof({
      claims: { ...claims(), htu: 'HTTPS://Auth.Example.com:443/oauth/%74oken?x=1#y' },
    });
    await expect(verifyDpopProof(signed, EXPECTED)).resolves.toBeTruthy();
  });
});

describe('each refusal, alone (RFC 9449 §4.3)', () => {
  const other = async () => (await generateKeyPair('ES256')).privateKey;
  const cases: Array<[string, () => Promise<string>, Partial<ProofExpectations>, string]> = [
    ['not a JWS', async () => 'not-a-proof', {}, 'not a compact JWS'],
    ['a JWE-shaped value', async () => 'a.b.c.d.e', {}, 'not a compact JWS'],
    ['typ JWT', () => proof({ header: { typ: 'JWT' } }), {}, 'typ is not dpop+jwt'],
    ['no typ', () => proof({ header: { typ: undefined } }), {}, 'typ is not dpop+jwt'],
    [
      'alg outside the allowlist',
      () => proof(),
      { algorithms: ['PS256'] },
      'alg is not one of PS256',
    ],
    [
      'alg HS256 (symmetric)',
      async () => {
        const secret = randomBytes(32);
        return new SignJWT(claims())
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'x' } } as {
            alg: string;
          })
          .sign(secret);
      },
      {},
      'alg is not one of',
    ],
    [
      'alg none',
      async () => {
        const head = Buffer.from(
          JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk }),
        ).toString('base64url');
        const body = Buffer.from(JSON.stringify(claims())).toString('base64url');
        return `${head}.${body}.`;
      },
      {},
      'not a compact JWS',
    ],
    ['no jwk', () => proof({ header: { jwk: undefined } }), {}, 'no jwk header'],
    ['a private jwk', () => proof({ header: { jwk: privateJwk } }), {}, 'private key material'],
    [
      'a symmetric jwk',
      () => proof({ header: { jwk: { kty: 'oct', k: 'AAAA' } } }),
      {},
      'private key material',
    ],
    [
      'a crit header',
      async () =>
        signRaw(
          JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk, crit: ['x'], x: 1 }),
          JSON.stringify(claims()),
        ),
      {},
      'crit',
    ],
    ['signed by another key', async () => proof({ signWith: await other() }), {}, 'signature'],
    ['no jti', () => proof({ claims: without('jti') }), {}, 'no usable jti'],
    ['a jti too long', () => proof({ claims: { ...claims(), jti: 'x'.repeat(257) } }), {}, 'jti'],
    ['htm GET', () => proof({ claims: { ...claims(), htm: 'GET' } }), {}, 'htm'],
    ['no htm', () => proof({ claims: without('htm') }), {}, 'htm'],
    [
      'htu of another host',
      () => proof({ claims: { ...claims(), htu: 'https://upstream.example.com/oauth/token' } }),
      {},
      'htu',
    ],
    [
      'htu of another path',
      () => proof({ claims: { ...claims(), htu: 'https://auth.example.com/oauth/token/x' } }),
      {},
      'htu',
    ],
    [
      'htu over http',
      () => proof({ claims: { ...claims(), htu: 'http://auth.example.com/oauth/token' } }),
      {},
      'htu',
    ],
    ['no htu', () => proof({ claims: without('htu') }), {}, 'htu'],
    ['no iat', () => proof({ claims: without('iat') }), {}, 'no iat'],
    [
      'iat too old',
      () => proof({ claims: { ...claims(), iat: (NOW - 66_000) / 1000 } }),
      {},
      'too old',
    ],
    [
      'iat in the future',
      () => proof({ claims: { ...claims(), iat: (NOW + 6_000) / 1000 } }),
      {},
      'future',
    ],
    [
      'a nonce that is not a string',
      () => proof({ claims: { ...claims(), nonce: 1 } }),
      {},
      'nonce',
    ],
    ['no ath at a resource', () => proof(), { accessToken: 'a.b.c' }, 'ath'],
    [
      'ath of another token',
      () => proof({ claims: { ...claims(), ath: accessTokenHash('x.y.z') } }),
      { accessToken: 'a.b.c' },
      'ath',
    ],
    [
      'a repeated payload member',
      async () =>
        signRaw(
          JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk }),
          `{"jti":"a","jti":"b","htm":"POST","htu":"${URL_}","iat":${NOW / 1000}}`,
        ),
      {},
      'repeats a member',
    ],
    [
      'a repeated header member',
      async () =>
        signRaw(
          `{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":${JSON.stringify(publicJwk)}}`,
          JSON.stringify(claims()),
        ),
      {},
      'repeats a member',
    ],
  ];

  it.each(cases)('%s', async (_name, build, expectations, reason) => {
    const signed = await build();
    const verifying = verifyDpopProof(signed, { ...EXPECTED, ...expectations });
    await expect(verifying).rejects.toBeInstanceOf(DpopProofRefused);
    await expect(verifying).rejects.toThrow(reason);
  });
});

describe('htu normalisation', () => {
  it.each([
    ['https://a.example/x?q#f', 'https://a.example/x'],
    ['HTTPS://A.EXAMPLE:443/x', 'https://a.example/x'],
    ['http://a.example:80/x', 'http://a.example/x'],
    ['https://a.example:8443/x', 'https://a.example:8443/x'],
    ['https://a.example/%7euser/%2f', 'https://a.example/~user/%2F'],
    ['https://a.example', 'https://a.example/'],
  ])('%s is %s', (given, normalised) => {
    expect(normalisedHtu(given)).toBe(normalised);
  });

  it.each(['ftp://a.example/x', 'not a url', 'https://user:pw@a.example/x'])(
    '%s is refused',
    (given) => {
      expect(normalisedHtu(given)).toBeUndefined();
    },
  );
});

describe('stateless nonces', () => {
  const key = randomBytes(32);
  const nonces = new DpopNonces(key, 300_000);

  it('accepts its own nonce, and that of a replica with the same key', () => {
    const nonce = nonces.current(NOW);
    expect(nonce).toMatch(/^[\x21\x23-\x5B\x5D-\x7E]+$/);
    expect(nonces.accepts(nonce, NOW)).toBe(true);
    expect(new DpopNonces(key, 300_000).accepts(nonce, NOW)).toBe(true);
  });

  it('accepts the previous slot, not the one before or a later one', () => {
    const nonce = nonces.current(NOW);
    expect(nonces.accepts(nonce, NOW + 300_000)).toBe(true);
    expect(nonces.accepts(nonce, NOW + 600_000)).toBe(false);
    expect(nonces.accepts(nonces.current(NOW + 300_000), NOW)).toBe(false);
  });

  it('refuses another key, a changed slot or a changed MAC', () => {
    const nonce = nonces.current(NOW);
    expect(new DpopNonces(randomBytes(32), 300_000).accepts(nonce, NOW)).toBe(false);
    const [slot, mac] = nonce.split('.') as [string, string];
    const earlier = (Number.parseInt(slot, 36) - 1).toString(36);
    expect(nonces.accepts(`${earlier}.${mac}`, NOW)).toBe(false);
    expect(nonces.accepts(`${slot}.${mac.slice(0, -1)}A`, NOW)).toBe(mac.endsWith('A'));
    expect(nonces.accepts('garbage', NOW)).toBe(false);
  });
});
