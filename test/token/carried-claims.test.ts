/**
 * What an access token carries of the verified upstream token (proxy/rules/carried-claims.ts),
 * as a table: one row per kind of claim (protocol, identity by issued scope, authorization keep
 * and drop, custom carried or not, profile carry), through a parsed configuration so that the
 * defaults are the ones users get; and what `check` refuses in either carry list.
 */
import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { tokenProfileFor } from '../../proxy/issued/token-profile.js';
import { carriedClaims, carryRulesOf } from '../../proxy/rules/carried-claims.js';
import { errorsOf, MINIMAL } from '../config/minimal-config.js';

const NOW = 1_800_000_000;
const TENANT = 'https://example.com/tenant';

/** An upstream token with one claim of every kind (a user's code-grant token, Auth0-shaped). */
const UPSTREAM: JWTPayload = {
  iss: 'https://tenant.example.com/',
  sub: 'auth0|u1',
  aud: 'https://api.example.com',
  iat: NOW - 10,
  exp: NOW + 3600,
  jti: 'upstream-jti',
  scope: 'openid profile email phone read:claims admin.users',
  scp: ['admin.users'],
  permissions: ['read:claims', 'admin.users'],
  // protocol
  azp: 'web',
  gty: 'authorization_code',
  auth_time: NOW - 60,
  acr: 'urn:mfa',
  amr: ['pwd', 'otp'],
  sid: 'session-1',
  nonce: 'n-0S6',
  at_hash: 'ignored',
  // identity
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  email_verified: true,
  phone_number: '+1 555 0100',
  address: { street_address: '1 Analytical Way', country: 'UK', extra: 'dropped' },
  // authorization
  roles: ['admin'],
  groups: ['ops'],
  realm_access: { roles: ['realm-admin'] },
  // custom
  [TENANT]: 't-42',
  department: 'research',
  // constraints (cnf is the upstream's: never carried, scopegate binds its own)
  cnf: { jkt: 'thumbprint' },
  act: { sub: 'gateway' },
};

function configOf(tokens = '', clients = ''): Config {
  const text = `${MINIMAL}${tokens === '' ? '' : `tokens:\n${tokens}`}${clients === '' ? '' : `clients:\n${clients}`}`;
  const result = parseConfigText(text, 'cfg.yaml', {});
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

function carried(
  config: Config,
  issued: readonly string[],
  clientId = 'web',
): Record<string, unknown> {
  const profile = tokenProfileFor(config, clientId, []);
  return carriedClaims(UPSTREAM, issued, profile, carryRulesOf(config.tokens));
}

/** Never carried, whatever the row: scopegate sets or rebuilds them, or they are ID-token only. */
const NEVER = [
  'iss',
  'sub',
  'aud',
  'iat',
  'exp',
  'jti',
  'scope',
  'scp',
  'permissions',
  'nonce',
  'at_hash',
];

describe('carriedClaims: the access token allowlist, one row per claim kind', () => {
  it.each<[string, string, string, string[], Record<string, unknown>]>([
    [
      'protocol claims of the default carry list; no identity claim without its scope; custom claims left out',
      '',
      '',
      ['read:claims'],
      {
        azp: 'web',
        gty: 'authorization_code',
        auth_time: NOW - 60,
        acr: 'urn:mfa',
        amr: ['pwd', 'otp'],
        sid: 'session-1',
        act: { sub: 'gateway' },
      },
    ],
    [
      'identity claims the issued scopes release (OIDC Core 5.4), in their 5.1 shape',
      '',
      '',
      ['openid', 'email', 'address', 'read:claims'],
      {
        azp: 'web',
        gty: 'authorization_code',
        auth_time: NOW - 60,
        acr: 'urn:mfa',
        amr: ['pwd', 'otp'],
        sid: 'session-1',
        email: 'ada@example.com',
        email_verified: true,
        address: { street_address: '1 Analytical Way', country: 'UK' },
        act: { sub: 'gateway' },
      },
    ],
    [
      'a custom claim released by a configured identity scope (tokens.identity_claims)',
      `  carry_claims: []\n  identity_claims: { "tenant:read": ["${TENANT}"] }\n`,
      '',
      ['tenant:read'],
      { [TENANT]: 't-42', act: { sub: 'gateway' } },
    ],
    [
      'a custom claim in tokens.carry_claims (the default list replaced)',
      `  carry_claims: [azp, "${TENANT}", department]\n`,
      '',
      ['read:claims'],
      {
        azp: 'web',
        [TENANT]: 't-42',
        department: 'research',
        act: { sub: 'gateway' },
      },
    ],
    [
      'an identity claim in tokens.carry_claims stays gated by scope',
      '  carry_claims: [name, phone_number]\n',
      '',
      ['phone'],
      { phone_number: '+1 555 0100', act: { sub: 'gateway' } },
    ],
    [
      'an authorization claim marked keep (an operator choice); the dropped ones never',
      '  carry_claims: []\n  authorization_claims: { roles: keep }\n',
      '',
      ['read:claims'],
      { roles: ['admin'], act: { sub: 'gateway' } },
    ],
    [
      'a profile carry list: the client’s whole allowlist (no default list, no released identity, no kept authorization claim)',
      '  authorization_claims: { roles: keep }\n',
      `  - client_id: web\n    token: { carry: [gty, "${TENANT}", email, name] }\n`,
      ['openid', 'email'],
      {
        gty: 'authorization_code',
        [TENANT]: 't-42',
        email: 'ada@example.com',
        act: { sub: 'gateway' },
      },
    ],
    [
      'an empty profile carry list: act only (the upstream’s cnf never: scopegate sets its own)',
      '',
      '  - client_id: web\n    token: { carry: [] }\n',
      ['openid', 'profile', 'email'],
      { act: { sub: 'gateway' } },
    ],
    [
      'tokens.carry_claims naming a profile’s scope claim: the rebuilt one wins, never the upstream’s',
      '  carry_claims: [department, scopes]\n',
      '  - client_id: web\n    token: { scope_claims: [{ name: scopes, format: array }] }\n',
      ['read:claims'],
      { department: 'research', act: { sub: 'gateway' } },
    ],
  ])('%s', (_what, tokens, clients, issued, expected) => {
    const claims = carried(configOf(tokens, clients), issued);
    expect({ ...claims }).toEqual(expected);
    for (const name of NEVER) expect(claims).not.toHaveProperty(name);
    expect(Object.getPrototypeOf(claims)).toBeNull();
  });

  it('a dropped authorization claim never gets in, even were a caller to list it', () => {
    const config = configOf();
    const profile = tokenProfileFor(config, 'web', []);
    const claims = carriedClaims(UPSTREAM, ['read:claims'], profile, {
      ...carryRulesOf(config.tokens),
      carryClaims: ['roles', 'groups', 'realm_access', 'scope', 'sub'],
    });
    expect({ ...claims }).toEqual({ act: { sub: 'gateway' } });
  });

  it('a default authorization claim the caller did not merge counts as dropped (fail closed)', () => {
    const profile = tokenProfileFor(configOf(), 'web', []);
    const claims = carriedClaims(UPSTREAM, [], profile, {
      carryClaims: ['roles'],
      identityClaims: {},
      authorizationClaims: {},
    });
    expect(claims).not.toHaveProperty('roles');
  });
});

describe('check refuses a carry entry that would widen, in either list (one rule)', () => {
  it.each<[string, string, string]>([
    [
      'tokens.carry_claims: scope',
      'tokens:\n  carry_claims: [azp, scope]\n',
      'tokens.carry_claims[1]: scopegate sets this claim itself',
    ],
    [
      'tokens.carry_claims: permissions',
      'tokens:\n  carry_claims: [permissions]\n',
      'tokens.carry_claims[0]: scopegate sets this claim itself',
    ],
    [
      'tokens.carry_claims: sub',
      'tokens:\n  carry_claims: [sub]\n',
      'tokens.carry_claims[0]: scopegate sets this claim itself',
    ],
    [
      'tokens.carry_claims: cnf (scopegate binds its tokens itself)',
      'tokens:\n  carry_claims: [cnf]\n',
      'tokens.carry_claims[0]: scopegate sets this claim itself',
    ],
    [
      'clients[].token.carry: cnf',
      'clients:\n  - client_id: web\n    token: { carry: [cnf] }\n',
      'clients[0].token.carry[0]: scopegate sets this claim itself',
    ],
    [
      'tokens.carry_claims: a default authorization claim',
      'tokens:\n  carry_claims: [roles]\n',
      'tokens.carry_claims[0]: tokens.authorization_claims drops this claim',
    ],
    [
      'tokens.carry_claims: a configured dropped claim',
      'tokens:\n  carry_claims: [tenant]\n  authorization_claims: { tenant: drop }\n',
      'tokens.carry_claims[0]: tokens.authorization_claims drops this claim',
    ],
    [
      'clients[].token.carry: a dropped claim',
      'clients:\n  - client_id: web\n    token: { carry: [groups] }\n',
      'clients[0].token.carry[0]: tokens.authorization_claims drops this claim',
    ],
    [
      'clients[].token.carry: scp',
      'clients:\n  - client_id: web\n    token: { carry: [scp] }\n',
      'clients[0].token.carry[0]: scopegate sets this claim itself',
    ],
  ])('%s', (_what, extra, expected) => {
    const errors = errorsOf(`${MINIMAL}${extra}`);
    expect(
      errors.some((error) => error.includes(expected)),
      errors.join('\n'),
    ).toBe(true);
  });

  it('accepts a kept authorization claim and custom claims in tokens.carry_claims', () => {
    const config = configOf(
      `  carry_claims: [roles, "${TENANT}"]\n  authorization_claims: { roles: keep }\n`,
    );
    expect(config.tokens.carry_claims).toEqual(['roles', TENANT]);
  });

  it('defaults to the protocol claims resource servers expect', () => {
    expect(configOf().tokens.carry_claims).toEqual([
      'azp',
      'gty',
      'auth_time',
      'acr',
      'amr',
      'sid',
    ]);
  });
});
