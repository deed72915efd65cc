/**
 * The ID token allowlist (proxy/rules/id-token-claims.ts) and the identity claims by issued scope
 * it shares with userinfo (proxy/rules/identity-claims.ts), as tables: every claim kind in or
 * out, by the scopes issued.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../config/defaults.js';
import { identityScopes } from '../../proxy/endpoints/token/id-token-step.js';
import {
  configuredClaimRefusal,
  type IdTokenContext,
  idTokenClaims,
} from '../../proxy/rules/id-token-claims.js';
import { releasedIdentityClaims } from '../../proxy/rules/identity-claims.js';

const NOW = 1_800_000_000;

/** An upstream ID token that carries every kind of claim, authorization claims included. */
const UPSTREAM = {
  iss: 'https://idp.example/',
  sub: 'user-1',
  aud: ['web', 'https://api.example'],
  azp: 'web',
  exp: NOW + 7200,
  iat: NOW - 10,
  nbf: NOW - 10,
  jti: 'upstream-jti',
  auth_time: NOW - 60,
  nonce: 'n-1',
  acr: 'mfa',
  amr: ['pwd', 'otp'],
  sid: 'sid-1',
  at_hash: 'upstream-at-hash',
  c_hash: 'upstream-c-hash',
  s_hash: 'upstream-s-hash',
  name: 'Alice Example',
  given_name: 'Alice',
  family_name: 'Example',
  middle_name: 'Q',
  nickname: 'al',
  preferred_username: 'alice',
  profile: 'https://alice.example',
  picture: 'https://alice.example/a.png',
  website: 'https://alice.example/blog',
  gender: 'female',
  birthdate: '1990-01-01',
  zoneinfo: 'Europe/Paris',
  locale: 'fr-FR',
  updated_at: NOW - 1000,
  email: 'alice@example.com',
  email_verified: true,
  address: { street_address: '1 Main St', country: 'FR', roles: ['admin'] },
  phone_number: '+33 1 23 45 67 89',
  phone_number_verified: false,
  tenant: 't-1',
  department: 'ops',
  roles: ['admin'],
  groups: ['admins'],
  realm_access: { roles: ['admin'] },
  resource_access: { api: { roles: ['admin'] } },
  wids: ['62e90394-69f5-4237-9190-012177145e10'],
  'cognito:groups': ['admins'],
  entitlements: ['all'],
  scp: ['admin.users'],
  scope: 'openid read:claims admin.users',
  permissions: ['admin.users'],
  authorization_details: [{ type: 'payment' }],
  sg_ut: 'sealed',
};

function context(overrides: Partial<IdTokenContext> = {}): IdTokenContext {
  return {
    issuer: 'https://gateway.test',
    clientId: 'web',
    sub: 'user-1',
    nowSec: NOW,
    maxLifetimeSec: 3600,
    atHash: 'scopegate-at-hash',
    issuedScopes: ['openid'],
    identityClaims: {},
    ...overrides,
  };
}

const PROFILE = [
  'name',
  'given_name',
  'family_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'updated_at',
];
const PROTOCOL = [
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'azp',
  'auth_time',
  'nonce',
  'acr',
  'amr',
  'sid',
  'at_hash',
];
const AUTHORIZATION = [
  'roles',
  'groups',
  'realm_access',
  'resource_access',
  'wids',
  'cognito:groups',
  'entitlements',
  'scp',
  'scope',
  'permissions',
  'authorization_details',
];

describe('idTokenClaims: exactly the allowlisted claims, by issued scope', () => {
  it.each<[string, string[], Record<string, string[]>, string[]]>([
    ['openid', ['openid'], {}, []],
    ['openid profile', ['openid', 'profile'], {}, PROFILE],
    ['openid email', ['openid', 'email'], {}, ['email', 'email_verified']],
    ['openid address', ['openid', 'address'], {}, ['address']],
    ['openid phone', ['openid', 'phone'], {}, ['phone_number', 'phone_number_verified']],
    [
      'openid read:claims with read:claims -> tenant configured',
      ['openid', 'read:claims'],
      { 'read:claims': ['tenant'] },
      ['tenant'],
    ],
    ['a configured scope not issued', ['openid'], { 'read:claims': ['tenant'] }, []],
    ['claims configured under openid', ['openid'], { openid: ['department'] }, ['department']],
    [
      'everything standard',
      ['openid', 'profile', 'email', 'address', 'phone'],
      {},
      [...PROFILE, 'email', 'email_verified', 'address', 'phone_number', 'phone_number_verified'],
    ],
  ])('%s', (_name, issuedScopes, identityClaims, identity) => {
    const claims = idTokenClaims(UPSTREAM, context({ issuedScopes, identityClaims }));
    expect(Object.keys(claims).sort()).toEqual([...PROTOCOL, ...identity].sort());
    expect(Object.getPrototypeOf(claims)).toBeNull();
  });

  it.each(AUTHORIZATION)('never carries the authorization claim %s', (name) => {
    const claims = idTokenClaims(
      UPSTREAM,
      context({ issuedScopes: ['openid', 'profile', 'email', 'address', 'phone', 'read:claims'] }),
    );
    expect(claims).not.toHaveProperty(name);
    expect(JSON.stringify(claims)).not.toContain('admin');
  });

  it.each([
    ['iss', 'https://gateway.test'],
    ['sub', 'user-1'],
    ['aud', 'web'],
    ['azp', 'web'],
    ['iat', NOW],
    ['exp', NOW + 3600],
    ['at_hash', 'scopegate-at-hash'],
    ['auth_time', NOW - 60],
    ['nonce', 'n-1'],
    ['acr', 'mfa'],
    ['amr', ['pwd', 'otp']],
    ['sid', 'sid-1'],
  ])('protocol claim %s is %j', (name, value) => {
    expect(idTokenClaims(UPSTREAM, context())[name]).toEqual(value);
  });

  it.each(['c_hash', 's_hash', 'nbf', 'jti', 'sg_ut', 'tenant'])('drops %s', (name) => {
    expect(idTokenClaims(UPSTREAM, context())).not.toHaveProperty(name);
  });

  it('never expires later than the upstream ID token', () => {
    const claims = idTokenClaims({ ...UPSTREAM, exp: NOW + 120.9 }, context());
    expect(claims.exp).toBe(NOW + 120);
  });

  it('leaves out protocol and identity claims of the wrong type, and azp naming another client', () => {
    const claims = idTokenClaims(
      {
        ...UPSTREAM,
        azp: 'other',
        auth_time: '1',
        nonce: 7,
        amr: ['pwd', 1],
        email: ['a@b'],
        email_verified: 'true',
        updated_at: 'yesterday',
        address: 'somewhere',
      },
      context({ issuedScopes: ['openid', 'email', 'profile', 'address'] }),
    );
    for (const name of [
      'azp',
      'auth_time',
      'nonce',
      'amr',
      'email',
      'email_verified',
      'updated_at',
      'address',
    ]) {
      expect(claims, name).not.toHaveProperty(name);
    }
  });

  it('keeps only the listed string members of an address', () => {
    const claims = idTokenClaims(UPSTREAM, context({ issuedScopes: ['openid', 'address'] }));
    expect(JSON.parse(JSON.stringify(claims.address))).toEqual({
      street_address: '1 Main St',
      country: 'FR',
    });
  });
});

describe('identityScopes: what decides the ID token identity claims', () => {
  it.each<[string, string[], string[], string[]]>([
    [
      'openid in the access token: the issued scopes alone',
      ['openid', 'email'],
      ['openid', 'email', 'phone'],
      ['openid', 'email'],
    ],
    ['openid removed by scopegate', ['read'], ['openid', 'email', 'read'], ['read']],
    [
      'resource-bound access token: standard scopes it never carried',
      ['api:read'],
      ['api:read', 'api:write'],
      ['api:read', 'openid', 'profile', 'email', 'address', 'phone'],
    ],
    [
      'resource-bound, with email decided by scopegate',
      ['api:read'],
      ['api:read', 'email'],
      ['api:read', 'openid', 'profile', 'address', 'phone'],
    ],
  ])('%s', (_name, issued, granted, expected) => {
    expect(identityScopes(issued, granted).sort()).toEqual(expected.sort());
  });
});

describe('releasedIdentityClaims (userinfo and the ID token)', () => {
  it('reads own members only', () => {
    const source = Object.create({ email: 'inherited@example.com' }) as Record<string, unknown>;
    source.sub = 'user-1';
    expect(releasedIdentityClaims(source, ['openid', 'email'], {})).toEqual({});
  });
});

describe('configuredClaimRefusal: what tokens.identity_claims may not list', () => {
  it.each([...AUTHORIZATION, 'urn:zitadel:iam:org:project:roles', 'authorization'])(
    'refuses the authorization claim %s',
    (name) => {
      expect(configuredClaimRefusal(name, DEFAULTS.tokens.authorization_claims)).toMatch(
        /authorization claim/,
      );
    },
  );

  it('refuses a claim tokens.authorization_claims names, whether keep or drop', () => {
    const configured = {
      ...DEFAULTS.tokens.authorization_claims,
      tier: 'keep',
      org_admin: 'drop',
    } as const;
    expect(configuredClaimRefusal('tier', configured)).toMatch(/authorization claim/);
    expect(configuredClaimRefusal('org_admin', configured)).toMatch(/authorization claim/);
    // roles stays an authorization claim even when access tokens keep it.
    expect(configuredClaimRefusal('roles', { ...configured, roles: 'keep' })).toMatch(
      /authorization claim/,
    );
  });

  it.each([
    ...PROTOCOL,
    'c_hash',
    's_hash',
    'jti',
    'nbf',
    'client_id',
    'cnf',
    'sg_ut',
    '__proto__',
  ])('refuses the protocol claim %s', (name) => {
    expect(configuredClaimRefusal(name, DEFAULTS.tokens.authorization_claims)).toMatch(
      /protocol claim/,
    );
  });

  it.each(['tenant', 'department', 'https://example.com/claims/org', 'email'])(
    'accepts %s',
    (name) => {
      expect(configuredClaimRefusal(name, DEFAULTS.tokens.authorization_claims)).toBeUndefined();
    },
  );
});
