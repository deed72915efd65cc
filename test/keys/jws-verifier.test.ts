/**
 * The node:crypto JWS verifier against jose, the reference it replaces on the token path: a
 * table of refusals jose makes (each must be refused too), and a differential property over
 * generated tokens and mutations of them: whatever jose refuses is refused, and apart from the
 * documented stricter cases (crit, b64) whatever jose accepts is accepted.
 */
import { generateKeyPairSync, type KeyObject, sign, type webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { compactVerify, createLocalJWKSet, errors, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { JwsRefused, prepareKeys, verifyCompactJws } from '../../proxy/keys/jws-verifier.js';

interface TestKey {
  jwk: JWK;
  privateKey: KeyObject;
  alg: string;
}

const ALL_ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'PS256', 'EdDSA'];

function ecKey(crv: string, kid: string, alg: string, extra: Partial<JWK> = {}): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: crv });
  return { jwk: { ...publicKey.export({ format: 'jwk' }), kid, ...extra }, privateKey, alg };
}

function rsaKey(bits: number, kid: string, alg: string, extra: Partial<JWK> = {}): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { jwk: { ...publicKey.export({ format: 'jwk' }), kid, ...extra }, privateKey, alg };
}

function edKey(kid: string): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { jwk: { ...publicKey.export({ format: 'jwk' }), kid }, privateKey, alg: 'EdDSA' };
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');

function signRaw(alg: string, privateKey: KeyObject, input: string): Buffer {
  const digest = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  if (alg.startsWith('ES'))
    return sign(digest, Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  if (alg.startsWith('PS'))
    return sign(digest, Buffer.from(input), { key: privateKey, padding: 6, saltLength: -1 });
  return sign(digest, Buffer.from(input), privateKey);
}

/** A compact JWS with exactly the given header text and payload text. */
function token(
  key: TestKey,
  headerText: string,
  payloadText = '{"sub":"s","exp":4102444800}',
  signAlg = key.alg,
): string {
  const input = `${b64(headerText)}.${b64(payloadText)}`;
  return `${input}.${b64(signRaw(signAlg, key.privateKey, input))}`;
}

async function joseAccepts(jws: string, jwks: JWK[], algorithms: string[]): Promise<boolean> {
  const set = createLocalJWKSet({ keys: jwks });
  try {
    const { payload } = await compactVerify(jws, set, { algorithms });
    const parsed: unknown = JSON.parse(new TextDecoder().decode(payload));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) return false;
    for await (const candidate of error as unknown as AsyncIterable<webcrypto.CryptoKey>) {
      try {
        const { payload } = await compactVerify(jws, candidate, { algorithms });
        const parsed: unknown = JSON.parse(new TextDecoder().decode(payload));
        return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
      } catch {}
    }
    return false;
  }
}

function oursAccepts(jws: string, jwks: JWK[], algorithms: string[]): boolean {
  try {
    verifyCompactJws(jws, prepareKeys(jwks as Record<string, unknown>[]), algorithms);
    return true;
  } catch (error) {
    if (!(error instanceof JwsRefused)) throw error;
    return false;
  }
}

let keys: Record<string, TestKey>;
beforeAll(() => {
  keys = {
    es256: ecKey('P-256', 'es256', 'ES256'),
    es256b: ecKey('P-256', 'es256b', 'ES256'),
    es384: ecKey('P-384', 'es384', 'ES384'),
    es512: ecKey('P-521', 'es512', 'ES512'),
    rs256: rsaKey(2048, 'rs256', 'RS256'),
    ps256: rsaKey(2048, 'ps256', 'PS256'),
    rsSmall: rsaKey(1024, 'small', 'RS256'),
    ed: edKey('ed'),
    encUse: ecKey('P-256', 'enc', 'ES256', { use: 'enc' }),
    wrongAlg: ecKey('P-256', 'wrong-alg', 'ES256', { alg: 'ES384' }),
    noVerifyOp: ecKey('P-256', 'no-verify', 'ES256', { key_ops: ['sign'] }),
  };
});

const jwksOf = () => Object.values(keys).map((key) => key.jwk);

describe('verifyCompactJws', () => {
  it('accepts what each key signs, with and without kid', () => {
    for (const name of ['es256', 'es384', 'es512', 'rs256', 'ps256', 'ed'] as const) {
      const key = keys[name] as TestKey;
      const withKid = token(key, JSON.stringify({ alg: key.alg, kid: key.jwk.kid }));
      const verified = verifyCompactJws(
        withKid,
        prepareKeys(jwksOf() as Record<string, unknown>[]),
        ALL_ALGS,
      );
      expect(verified.payload).toEqual({ sub: 's', exp: 4102444800 });
      // Without kid several keys of the algorithm fit: the one that verifies is found.
      const withoutKid = token(key, JSON.stringify({ alg: key.alg }));
      expect(oursAccepts(withoutKid, jwksOf(), ALL_ALGS)).toBe(true);
    }
  });

  // [case, signing key, header, refusal, algorithm actually signed with]
  const signedRefusals: [string, string, string, string, string?][] = [
    ['unknown kid', 'es256', '{"alg":"ES256","kid":"nobody"}', 'no_matching_key'],
    ['kid not a string', 'es256', '{"alg":"ES256","kid":7}', 'malformed'],
    ['key of another curve', 'es256', '{"alg":"ES384","kid":"es256"}', 'no_matching_key', 'ES384'],
    ['RSA key under 2048 bits', 'rsSmall', '{"alg":"RS256","kid":"small"}', 'no_matching_key'],
    ['key for encryption', 'encUse', '{"alg":"ES256","kid":"enc"}', 'no_matching_key'],
    ['key for another alg', 'wrongAlg', '{"alg":"ES256","kid":"wrong-alg"}', 'no_matching_key'],
    [
      'key_ops without verify',
      'noVerifyOp',
      '{"alg":"ES256","kid":"no-verify"}',
      'no_matching_key',
    ],
    ['another key of the kid', 'es256b', '{"alg":"ES256","kid":"es256"}', 'bad_signature'],
    ['RS256 over PS256', 'ps256', '{"alg":"RS256","kid":"ps256"}', 'bad_signature', 'PS256'],
    ['crit', 'es256', '{"alg":"ES256","kid":"es256","crit":["exp"]}', 'unsupported_header'],
    ['b64 false', 'es256', '{"alg":"ES256","b64":false,"crit":["b64"]}', 'unsupported_header'],
    ['header not an object', 'es256', '["ES256"]', 'malformed'],
  ];
  const es256Token = (payload?: string) =>
    token(keys.es256 as TestKey, '{"alg":"ES256","kid":"es256"}', payload);
  const otherRefusals: [string, () => string, string[], string][] = [
    ['alg outside the allow-list', () => es256Token(), ['RS256'], 'alg_not_allowed'],
    ['alg none', () => `${b64('{"alg":"none"}')}.${b64('{}')}.`, ALL_ALGS, 'alg_not_allowed'],
    [
      'HMAC',
      () => `${b64('{"alg":"HS256"}')}.${b64('{}')}.${b64('x')}`,
      ['HS256'],
      'alg_not_allowed',
    ],
    ['payload an array', () => es256Token('[1]'), ALL_ALGS, 'malformed'],
    ['payload not JSON', () => es256Token('exp=1'), ALL_ALGS, 'malformed'],
    ['four segments', () => `${es256Token()}.x`, ALL_ALGS, 'malformed'],
    ['padding in a segment', () => es256Token().replace('.', '=.'), ALL_ALGS, 'malformed'],
    ['standard base64', () => `${es256Token().slice(0, -2)}+/`, ALL_ALGS, 'malformed'],
    ['truncated signature', () => es256Token().slice(0, -4), ALL_ALGS, 'bad_signature'],
  ];
  const refusals: [string, () => string, string[], string][] = [
    ...signedRefusals.map(
      ([name, signer, header, refusal, signAlg]): [string, () => string, string[], string] => [
        name,
        () => token(keys[signer] as TestKey, header, undefined, signAlg),
        ALL_ALGS,
        refusal,
      ],
    ),
    ...otherRefusals,
  ];

  it.each(refusals)('refuses: %s (as jose does)', async (_name, make, algorithms, refusal) => {
    const jws = make();
    expect(() =>
      verifyCompactJws(jws, prepareKeys(jwksOf() as Record<string, unknown>[]), algorithms),
    ).toThrowError(expect.objectContaining({ refusal }));
    // Stricter than jose only where the module says so (crit, b64): elsewhere jose refuses too.
    if (refusal !== 'unsupported_header') {
      expect(await joseAccepts(jws, jwksOf(), algorithms)).toBe(false);
    }
  });

  it('agrees with jose on generated tokens and mutations of them', async () => {
    const names = Object.keys(keys);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.constantFrom(...ALL_ALGS, 'HS256', 'none'),
        fc.option(fc.constantFrom(...names, 'other'), { nil: undefined }),
        fc.subarray(ALL_ALGS, { minLength: 1 }),
        fc.nat(),
        fc.constantFrom('none', 'flip-signature', 'flip-payload', 'swap-payload', 'drop-signature'),
        async (signer, headerAlg, kidName, algorithms, position, mutation) => {
          const key = keys[signer] as TestKey;
          const header: Record<string, unknown> = { alg: headerAlg };
          if (kidName !== undefined) header.kid = keys[kidName]?.jwk.kid ?? kidName;
          let jws = token(key, JSON.stringify(header));
          const parts = jws.split('.') as [string, string, string];
          const flip = (segment: string) => {
            if (segment.length === 0) return 'A';
            const at = position % segment.length;
            const replacement = segment[at] === 'A' ? 'B' : 'A';
            return segment.slice(0, at) + replacement + segment.slice(at + 1);
          };
          if (mutation === 'flip-signature') jws = `${parts[0]}.${parts[1]}.${flip(parts[2])}`;
          if (mutation === 'flip-payload') jws = `${parts[0]}.${flip(parts[1])}.${parts[2]}`;
          if (mutation === 'swap-payload')
            jws = `${parts[0]}.${b64('{"sub":"admin"}')}.${parts[2]}`;
          if (mutation === 'drop-signature') jws = `${parts[0]}.${parts[1]}.`;
          const ours = oursAccepts(jws, jwksOf(), algorithms);
          const theirs = await joseAccepts(jws, jwksOf(), algorithms);
          expect(ours).toBe(theirs);
        },
      ),
      { numRuns: 400 },
    );
  });
});
