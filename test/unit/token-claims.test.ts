/**
 * The claims of an issued token (proxy/issued/access-token.ts) and what is read from the verified
 * upstream token (proxy/upstream/identity.ts), table-driven.
 */
import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.js';
import { buildClaims, type IssueInput, issueToken } from '../../proxy/issued/access-token.js';
import { type TokenProfile, tokenProfileFor } from '../../proxy/issued/token-profile.js';
import { createJwtSigner } from '../../proxy/keys/jwt-signer.js';
import { publicJwk } from '../../proxy/keys/key-material.js';
import type { SigningKey } from '../../proxy/keys/signing-keys.js';
import { TOKEN_TYPS } from '../../proxy/rules/token-typ.js';
import {
  tokenAudiences,
  tokenClientId,
  tokenGrantType,
  tokenScopes,
} from '../../proxy/upstream/identity.js';

const NOW = 1_800_000_000;
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const KEY: SigningKey = {
  kid: 'unit',
  alg: 'ES256',
  status: 'active',
  privateKey,
  publicJwk: publicJwk(privateKey, 'unit', 'ES256'),
  signer: createJwtSigner('ES256', 'unit', privateKey),
  signers: Object.fromEntries(
    TOKEN_TYPS.map((typ) => [typ, createJwtSigner('ES256', 'unit', privateKey, typ)]),
  ) as SigningKey['signers'],
};

/** The default profile's shape, with the two settings these tests vary spelled as before. */
type InputOverrides = Partial<Omit<IssueInput, 'profile'>> & {
  scopeFormat?: 'string' | 'array';
  maxLifetimeSec?: number;
};

function input(overrides: InputOverrides = {}): IssueInput {
  const { scopeFormat = 'string', maxLifetimeSec = 3600, ...rest } = overrides;
  const profile: TokenProfile = {
    source: 'defaults',
    lifetimeSec: maxLifetimeSec,
    alg: undefined,
    typ: 'at+jwt',
    scopeClaims: [{ name: 'scope', format: scopeFormat }],
    claims: {},
    carry: undefined,
  };
  return {
    upstreamClaims: { iss: 'https://idp/', sub: 'svc@clients', aud: 'api', exp: NOW + 86_400 },
    issuer: 'https://gateway.test',
    clientId: 'svc',
    scopes: ['read'],
    profile,
    nowSec: NOW,
    key: KEY,
    carryRules: { carryClaims: ['department'], identityClaims: {}, authorizationClaims: {} },
    ...rest,
  };
}

describe('buildClaims: reserved claims are scopegate’s', () => {
  const hostile: JWTPayload = {
    iss: 'https://idp/',
    sub: 'svc@clients',
    aud: 'api',
    client_id: 'someone-else',
    iat: NOW - 5000,
    exp: NOW + 100_000,
    nbf: NOW - 5000,
    jti: 'upstream-jti',
    scope: 'read write admin',
    scp: ['admin'],
    permissions: ['read', 'write', 'admin'],
    // Carried: the carry list of input() names it.
    department: 'kept',
  };
  const claims = buildClaims(input({ upstreamClaims: hostile, scopes: ['read'] }));

  it.each([
    ['iss', 'https://gateway.test'],
    ['client_id', 'svc'],
    ['iat', NOW],
    ['exp', NOW + 3600],
    ['scope', 'read'],
    ['permissions', ['read']],
    ['sub', 'svc@clients'],
    ['aud', 'api'],
    ['department', 'kept'],
  ])('%s is %j', (name, value) => {
    expect(claims[name]).toEqual(value);
  });

  it.each(['nbf', 'scp'])('drops %s', (name) => {
    expect(claims).not.toHaveProperty(name);
  });

  it('mints its own jti', () => {
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.jti).not.toBe('upstream-jti');
    expect(buildClaims(input()).jti).not.toBe(claims.jti);
  });
});

describe('buildClaims: permissions', () => {
  it.each<[string, unknown, string[], unknown]>([
    [
      'narrowed to the issued scopes',
      ['read', 'write', 'admin'],
      ['read', 'admin'],
      ['read', 'admin'],
    ],
    ['in issued order', ['b', 'a'], ['a', 'b'], ['a', 'b']],
    [
      'concrete scopes a permission template covers',
      ['accounts.*', 'read:claims'],
      ['accounts.read.1234', 'read:claims'],
      ['accounts.read.1234', 'read:claims'],
    ],
    ['never a scope no permission covers', ['accounts.read.*'], ['accounts.write.1'], []],
    ['non-strings dropped', ['read', 7, null], ['read'], ['read']],
    ['emptied when nothing issued matches', ['write'], ['read'], []],
    ['absent when the upstream had none', undefined, ['read'], undefined],
    ['absent when not an array', 'read write', ['read'], undefined],
  ])('%s', (_what, permissions, scopes, expected) => {
    const upstreamClaims: JWTPayload = { sub: 's', exp: NOW + 60 };
    if (permissions !== undefined) upstreamClaims.permissions = permissions;
    const claims = buildClaims(input({ upstreamClaims, scopes }));
    if (expected === undefined) expect(claims).not.toHaveProperty('permissions');
    else expect(claims.permissions).toEqual(expected);
  });
});

describe('buildClaims: exp = min(upstream exp, now + max_lifetime)', () => {
  it.each<[string, number | undefined, number, number]>([
    ['upstream outlives the cap', NOW + 86_400, 3600, NOW + 3600],
    ['upstream expires first', NOW + 60, 3600, NOW + 60],
    ['equal', NOW + 3600, 3600, NOW + 3600],
    ['already expired upstream (within tolerance)', NOW - 10, 3600, NOW - 10],
    ['no upstream exp: expires now', undefined, 3600, NOW],
    ['zero cap', NOW + 60, 0, NOW],
  ])('%s', (_what, upstreamExp, maxLifetimeSec, expected) => {
    const upstreamClaims: JWTPayload = { sub: 's' };
    if (upstreamExp !== undefined) upstreamClaims.exp = upstreamExp;
    expect(buildClaims(input({ upstreamClaims, maxLifetimeSec })).exp).toBe(expected);
  });
});

describe('buildClaims: scope format', () => {
  it.each<[string, string[], 'string' | 'array', unknown]>([
    ['string', ['a', 'b'], 'string', 'a b'],
    ['array', ['a', 'b'], 'array', ['a', 'b']],
    ['single as array', ['a'], 'array', ['a']],
    ['none issued (string)', [], 'string', undefined],
    ['none issued (array)', [], 'array', undefined],
  ])('%s', (_what, scopes, scopeFormat, expected) => {
    const claims = buildClaims(input({ scopes, scopeFormat }));
    if (expected === undefined) expect(claims).not.toHaveProperty('scope');
    else expect(claims.scope).toEqual(expected);
  });

  it('copies the array rather than sharing it', () => {
    const scopes = ['a'];
    const claims = buildClaims(input({ scopes, scopeFormat: 'array' }));
    scopes.push('b');
    expect(claims.scope).toEqual(['a']);
  });
});

describe('buildClaims: sub, aud and client_id', () => {
  it.each<[string, JWTPayload, string | undefined, string | undefined]>([
    ['upstream sub kept', { sub: 'user-1' }, 'svc', 'user-1'],
    ['falls back to the client id', {}, 'svc', 'svc'],
    ['non-string sub falls back', { sub: 42 as unknown as string }, 'svc', 'svc'],
    ['neither: no sub', {}, undefined, undefined],
  ])('%s', (_what, upstreamClaims, clientId, expected) => {
    const claims = buildClaims(
      input({ upstreamClaims: { exp: NOW + 60, ...upstreamClaims }, clientId }),
    );
    if (expected === undefined) expect(claims).not.toHaveProperty('sub');
    else expect(claims.sub).toBe(expected);
  });

  it.each<[string, JWTPayload['aud']]>([
    ['string aud', 'api'],
    ['array aud', ['api', 'other']],
  ])('keeps the verified %s', (_what, aud) => {
    expect(buildClaims(input({ upstreamClaims: { aud, exp: NOW + 60 } })).aud).toEqual(aud);
  });

  it('sets no aud or client_id it does not know', () => {
    const claims = buildClaims(input({ upstreamClaims: { exp: NOW + 60 }, clientId: undefined }));
    expect(claims).not.toHaveProperty('aud');
    expect(claims).not.toHaveProperty('client_id');
  });
});

describe('issueToken', () => {
  it('signs an at+jwt with the active key and reports expires_in', async () => {
    const nowSec = Math.floor(Date.now() / 1000);
    const issued = await issueToken(
      input({ nowSec, maxLifetimeSec: 600, upstreamClaims: { exp: nowSec + 9999 } }),
    );
    expect(issued.expiresIn).toBe(600);
    expect(decodeProtectedHeader(issued.token)).toEqual({
      alg: 'ES256',
      kid: 'unit',
      typ: 'at+jwt',
    });
    const { payload } = await jwtVerify(issued.token, publicKey, {
      issuer: 'https://gateway.test',
      typ: 'at+jwt',
    });
    expect(payload).toEqual(issued.claims);
  });

  it('never reports a negative expires_in', async () => {
    const issued = await issueToken(input({ upstreamClaims: { exp: NOW - 30 } }));
    expect(issued.expiresIn).toBe(0);
  });
});

describe('identity: tokenClientId', () => {
  const DEFAULT_CLAIMS = ['client_id', 'azp', 'cid', 'appid'];
  it.each<[string, JWTPayload, readonly string[], string | undefined]>([
    ['client_id first', { client_id: 'a', azp: 'b', cid: 'c' }, DEFAULT_CLAIMS, 'a'],
    ['then azp (Auth0)', { azp: 'b', cid: 'c' }, DEFAULT_CLAIMS, 'b'],
    ['then cid (Okta)', { cid: 'c' }, DEFAULT_CLAIMS, 'c'],
    ['then appid (Entra ID v1)', { appid: 'd' }, DEFAULT_CLAIMS, 'd'],
    ['empty strings skipped', { client_id: '', azp: 'b' }, DEFAULT_CLAIMS, 'b'],
    ['non-strings skipped', { client_id: 7 as unknown as string, azp: 'b' }, DEFAULT_CLAIMS, 'b'],
    ['a silent token names no client', { sub: 'someone' }, DEFAULT_CLAIMS, undefined],
    ['only the configured claims count', { client_id: 'a', app: 'x' }, ['app'], 'x'],
    ['configured order wins', { client_id: 'a', azp: 'b' }, ['azp', 'client_id'], 'b'],
    [
      'inherited members are not claims',
      Object.create({ client_id: 'proto' }),
      DEFAULT_CLAIMS,
      undefined,
    ],
  ])('%s', (_what, claims, names, expected) => {
    expect(tokenClientId(claims, names)).toBe(expected);
  });
});

describe('identity: tokenGrantType', () => {
  it.each<[string, JWTPayload, string | undefined, string]>([
    ['Auth0 client-credentials', { gty: 'client-credentials' }, 'password', 'client_credentials'],
    ['Auth0 refresh-token', { gty: 'refresh-token' }, undefined, 'refresh_token'],
    ['Auth0 authorization-code', { gty: 'authorization-code' }, undefined, 'authorization_code'],
    ['Auth0 password', { gty: 'password' }, undefined, 'password'],
    ['unknown gty normalised', { gty: 'device-code' }, undefined, 'device_code'],
    [
      'token wins over the request',
      { gty: 'client-credentials' },
      'refresh_token',
      'client_credentials',
    ],
    ['the request when the token is silent', {}, 'refresh_token', 'refresh_token'],
    ['empty gty ignored', { gty: '' }, 'client_credentials', 'client_credentials'],
    ['nothing known', {}, undefined, 'unknown'],
  ])('%s', (_what, claims, requested, expected) => {
    expect(tokenGrantType(claims, requested)).toBe(expected);
  });
});

describe('identity: tokenScopes', () => {
  it.each<[string, JWTPayload, string[]]>([
    ['space-delimited string', { scope: 'a b c' }, ['a', 'b', 'c']],
    ['array', { scope: ['a', 'b'] }, ['a', 'b']],
    ['Okta scp array', { scp: ['a', 'b'] }, ['a', 'b']],
    ['scope wins over scp', { scope: 'a', scp: ['admin'] }, ['a']],
    ['empty string', { scope: '' }, []],
    ['stray spaces ignored', { scope: ' a  b ' }, ['a', 'b']],
    ['non-strings dropped', { scope: ['a', 1, null, 'b'] as unknown as string[] }, ['a', 'b']],
    ['an element with a space is not two scopes', { scope: ['a', 'b admin'] }, ['a']],
    ['characters outside the grammar dropped', { scope: ['a', 'b"c', 'd\\e', ''] }, ['a']],
    ['a tab-joined string is not a scope token', { scope: 'a\tb c' }, ['c']],
    ['no scope at all', {}, []],
    ['scope of the wrong type', { scope: 42 as unknown as string }, []],
  ])('%s', (_what, claims, expected) => {
    expect(tokenScopes(claims)).toEqual(expected);
  });
});

describe('identity: tokenAudiences', () => {
  it.each<[string, JWTPayload, string[]]>([
    ['string', { aud: 'api' }, ['api']],
    ['array', { aud: ['api', 'other'] }, ['api', 'other']],
    ['non-strings dropped', { aud: ['api', 3] as unknown as string[] }, ['api']],
    ['absent', {}, []],
  ])('%s', (_what, claims, expected) => {
    expect(tokenAudiences(claims)).toEqual(expected);
  });
});

describe("the scope claim's shape: first matching client rule wins (the token profile)", () => {
  const config = (clients: Config['clients'], scope_format: 'string' | 'array' = 'string') =>
    ({ clients, tokens: { scope_format, max_lifetime: 3_600_000 } }) as unknown as Config;
  it.each<[string, Config['clients'], string | undefined, string[], 'string' | 'array', string]>([
    ['no rules: the default', [], 'p', [], 'string', 'string'],
    ['no rules: an array default', [], 'p', [], 'array', 'array'],
    ['client rule', [{ client_id: 'p', scope_format: 'array' }], 'p', [], 'string', 'array'],
    ['other client', [{ client_id: 'q', scope_format: 'array' }], 'p', [], 'string', 'string'],
    [
      'unknown client',
      [{ client_id: 'p', scope_format: 'array' }],
      undefined,
      [],
      'string',
      'string',
    ],
    [
      'audience rule, matching',
      [{ client_id: 'p', audience: 'x', scope_format: 'array' }],
      'p',
      ['x'],
      'string',
      'array',
    ],
    [
      'audience rule, other audience',
      [{ client_id: 'p', audience: 'x', scope_format: 'array' }],
      'p',
      ['y'],
      'string',
      'string',
    ],
    [
      'first match wins',
      [
        { client_id: 'p', audience: 'x', scope_format: 'string' },
        { client_id: 'p', scope_format: 'array' },
      ],
      'p',
      ['x'],
      'array',
      'string',
    ],
    [
      'a non-matching audience rule falls through to the next',
      [
        { client_id: 'p', audience: 'x', scope_format: 'string' },
        { client_id: 'p', scope_format: 'array' },
      ],
      'p',
      ['y'],
      'string',
      'array',
    ],
  ])('%s', (_what, clients, clientId, audiences, fallback, expected) => {
    const profile = tokenProfileFor(config(clients, fallback), clientId, audiences);
    expect(profile.scopeClaims).toEqual([{ name: 'scope', format: expected }]);
  });
});
