/**
 * Token profiles (clients[].token), table-driven: what each option does alone and combined to the
 * issued token, the never-widen rule as `check` enforces it (every refusal names its line and
 * path), the signing key each algorithm picks, and what `explain` shows.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { checkConfig } from '../../proxy/cli/check.js';
import { explain } from '../../proxy/cli/explain.js';
import { issueToken } from '../../proxy/issued/access-token.js';
import { verifyOwnToken } from '../../proxy/issued/own-token.js';
import { tokenProfileFor } from '../../proxy/issued/token-profile.js';
import { createJwtSigner } from '../../proxy/keys/jwt-signer.js';
import { publicJwk, type SigningAlgorithm } from '../../proxy/keys/key-material.js';
import { type SigningKey, SigningKeySet } from '../../proxy/keys/signing-keys.js';
import { carryRulesOf } from '../../proxy/rules/carried-claims.js';
import { TOKEN_TYPS, type TokenTyp } from '../../proxy/rules/token-typ.js';
import { RevokedTokens } from '../../proxy/runtime/revoked-tokens.js';
import type { Runtime } from '../../proxy/runtime/runtime.js';
import { errorsOf } from '../config/minimal-config.js';

const NOW = 1_800_000_000;
const PARTNER_API = 'https://partner-api.example.com';

/** A config with two active keys (ES256 the default) and `clients` as given (YAML lines). */
function configText(clients: string, extra = ''): string {
  return `issuer: "https://auth.example.com"
upstream:
  url: "https://tenant.example.com"
signing:
  default_alg: ES256
  keys:
    - { kid: es, alg: ES256, private_key_file: es.pem }
    - { kid: rs, alg: RS256, private_key_file: rs.pem }
${extra}clients:
${clients}`;
}

function parsed(clients: string, extra = ''): Config {
  const result = parseConfigText(configText(clients, extra), 'cfg.yaml', {});
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

function keyOf(alg: SigningAlgorithm, kid: string, status: SigningKey['status']): SigningKey {
  const { privateKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signers = Object.fromEntries(
    TOKEN_TYPS.map((typ) => [typ, createJwtSigner(alg, kid, privateKey, typ)]),
  ) as SigningKey['signers'];
  return {
    kid,
    alg,
    status,
    privateKey,
    publicJwk: publicJwk(privateKey, kid, alg),
    signer: signers['at+jwt'],
    signers,
  };
}

const ES = keyOf('ES256', 'es', 'active');
const RS = keyOf('RS256', 'rs', 'active');

/** What an Auth0 client-credentials token carries, plus claims a profile must not lose or let in. */
const UPSTREAM: JWTPayload = {
  iss: 'https://tenant.example.com/',
  sub: 'partner-x@clients',
  aud: PARTNER_API,
  iat: NOW - 10,
  exp: NOW + 86_400,
  azp: 'partner-x',
  gty: 'client-credentials',
  scope: 'read:appointments read:prescriptions read:msg',
  permissions: ['read:appointments', 'read:prescriptions', 'read:msg'],
  roles: ['admin'],
  tenant: 't-1',
  scopes: ['read:msg', 'admin:all'],
  cnf: { jkt: 'thumbprint' },
};

const ISSUED = ['read:appointments', 'read:prescriptions'];

async function issuedFor(config: Config, upstream = UPSTREAM, scopes = ISSUED) {
  const profile = tokenProfileFor(config, 'partner-x', [PARTNER_API]);
  const set = new SigningKeySet([ES, RS], config.signing.default_alg);
  const key = profile.alg === undefined ? set.active : set.activeFor(profile.alg);
  if (key === undefined) throw new Error('no key');
  const issued = await issueToken({
    upstreamClaims: upstream,
    issuer: config.issuer,
    clientId: 'partner-x',
    scopes,
    profile,
    nowSec: NOW,
    key,
    carryRules: carryRulesOf(config.tokens),
  });
  return { ...issued, header: decodeProtectedHeader(issued.token), key };
}

const OWN = ['iss', 'sub', 'aud', 'client_id', 'iat', 'exp', 'jti'];

describe('a token profile shapes the issued token', () => {
  it.each<[string, string, Record<string, unknown>, string[], Record<string, unknown>]>([
    [
      'no profile: ES256, at+jwt, string scope, the tokens.carry_claims allowlist (custom claims left out)',
      '  - client_id: someone-else\n',
      { alg: 'ES256', typ: 'at+jwt' },
      [...OWN, 'azp', 'gty', 'permissions', 'scope'],
      {
        scope: 'read:appointments read:prescriptions',
        permissions: ISSUED,
        exp: NOW + 3600,
      },
    ],
    [
      'scope_format array (the shorthand)',
      '  - client_id: partner-x\n    scope_format: array\n',
      { alg: 'ES256', typ: 'at+jwt' },
      [...OWN, 'azp', 'gty', 'permissions', 'scope'],
      { scope: ISSUED },
    ],
    [
      'scope_format array beside a profile without scope_claims: still the shorthand',
      '  - client_id: partner-x\n    scope_format: array\n    token: { typ: JWT }\n',
      { alg: 'ES256', typ: 'JWT' },
      [...OWN, 'azp', 'gty', 'permissions', 'scope'],
      { scope: ISSUED },
    ],
    [
      'lifetime alone',
      '  - client_id: partner-x\n    token: { lifetime: 5m }\n',
      { alg: 'ES256', typ: 'at+jwt' },
      [...OWN, 'azp', 'gty', 'permissions', 'scope'],
      { exp: NOW + 300 },
    ],
    [
      'alg alone: the active RS256 key',
      '  - client_id: partner-x\n    token: { alg: RS256 }\n',
      { alg: 'RS256', kid: 'rs', typ: 'at+jwt' },
      [...OWN, 'azp', 'gty', 'permissions', 'scope'],
      {},
    ],
    [
      'typ JWT alone',
      '  - client_id: partner-x\n    token: { typ: JWT }\n',
      { alg: 'ES256', typ: 'JWT' },
      [...OWN, 'azp', 'gty', 'permissions', 'scope'],
      {},
    ],
    [
      'typ none alone: no typ header',
      '  - client_id: partner-x\n    token: { typ: none }\n',
      { alg: 'ES256', kid: 'es' },
      [...OWN, 'azp', 'gty', 'permissions', 'scope'],
      {},
    ],
    [
      'scope_claims: renamed, and the upstream claim of that name never carried',
      '  - client_id: partner-x\n    token: { scope_claims: [{ name: scopes, format: array }] }\n',
      { alg: 'ES256', typ: 'at+jwt' },
      [...OWN, 'azp', 'gty', 'permissions', 'scopes'],
      { scopes: ISSUED },
    ],
    [
      'scope_claims: both shapes at once',
      '  - client_id: partner-x\n    token:\n      scope_claims:\n        - { name: scope, format: string }\n        - { name: scp, format: array }\n',
      { alg: 'ES256', typ: 'at+jwt' },
      [...OWN, 'azp', 'gty', 'permissions', 'scope', 'scp'],
      { scope: 'read:appointments read:prescriptions', scp: ISSUED },
    ],
    [
      'claims alone: fixed values added',
      '  - client_id: partner-x\n    token: { claims: { partner_id: acme, limits: { rps: 5 } } }\n',
      { alg: 'ES256', typ: 'at+jwt' },
      [...OWN, ...['azp', 'gty', 'permissions', 'scope'], ...['partner_id', 'limits']],
      { partner_id: 'acme', limits: { rps: 5 } },
    ],
    [
      'carry alone: the allowlist (the upstream’s cnf never: scopegate sets its own)',
      '  - client_id: partner-x\n    token: { carry: [gty] }\n',
      { alg: 'ES256', typ: 'at+jwt' },
      [...OWN, 'gty', 'scope'],
      { gty: 'client-credentials' },
    ],
    [
      'carry empty: nothing of the upstream',
      '  - client_id: partner-x\n    token: { carry: [] }\n',
      { alg: 'ES256', typ: 'at+jwt' },
      [...OWN, 'scope'],
      {},
    ],
    [
      'all combined: the seed partner',
      `  - client_id: partner-x
    audience: ${PARTNER_API}
    token:
      lifetime: 5m
      alg: RS256
      typ: JWT
      scope_claims: [{ name: scope, format: array }, { name: "https://partner/scopes", format: string }]
      claims: { partner_id: acme }
      carry: [azp, gty]
`,
      { alg: 'RS256', kid: 'rs', typ: 'JWT' },
      [...OWN, 'azp', 'gty', 'partner_id', 'scope', 'https://partner/scopes'],
      {
        exp: NOW + 300,
        scope: ISSUED,
        'https://partner/scopes': 'read:appointments read:prescriptions',
        partner_id: 'acme',
      },
    ],
  ])('%s', async (_what, clients, header, names, values) => {
    const config = parsed(clients);
    const issued = await issuedFor(config);
    expect(issued.header).toEqual({ kid: issued.key.kid, ...header });
    expect(Object.keys(issued.claims).sort()).toEqual([...names].sort());
    expect(issued.claims).toMatchObject({
      iss: 'https://auth.example.com',
      sub: 'partner-x@clients',
      client_id: 'partner-x',
      ...values,
    });
    // The signature is the key's, whatever the typ.
    const { payload } = await jwtVerify(issued.token, createPublicKey(issued.key.privateKey), {
      algorithms: [issued.key.alg],
    });
    expect(payload).toEqual(issued.claims);
    expect(issued.expiresIn).toBe((issued.claims.exp as number) - NOW);
  });

  it.each<[string, number, number]>([
    ['the profile is shorter than the upstream token', NOW + 86_400, NOW + 300],
    ['the upstream token is shorter than the profile', NOW + 60, NOW + 60],
  ])('lifetime: %s', async (_what, upstreamExp, expected) => {
    const config = parsed('  - client_id: partner-x\n    token: { lifetime: 5m }\n');
    const issued = await issuedFor(config, { ...UPSTREAM, exp: upstreamExp });
    expect(issued.claims.exp).toBe(expected);
  });

  it('never widens: no scopes issued means no scope claim, whatever the upstream had there', async () => {
    const config = parsed(
      '  - client_id: partner-x\n    token: { scope_claims: [{ name: scopes, format: array }] }\n',
    );
    const issued = await issuedFor(config, UPSTREAM, []);
    expect(issued.claims).not.toHaveProperty('scopes');
    expect(issued.claims).not.toHaveProperty('scope');
    expect(issued.claims).not.toHaveProperty('roles');
  });

  it('keeps act: a delegation is never dropped by a carry list', async () => {
    const config = parsed('  - client_id: partner-x\n    token: { carry: [] }\n');
    const issued = await issuedFor(config, { ...UPSTREAM, act: { sub: 'gateway' } });
    expect(issued.claims.act).toEqual({ sub: 'gateway' });
  });

  it('applies per audience: the rule for another audience falls through to the default', () => {
    const config = parsed(
      `  - client_id: partner-x\n    audience: ${PARTNER_API}\n    token: { alg: RS256, typ: JWT }\n`,
    );
    expect(tokenProfileFor(config, 'partner-x', [PARTNER_API])).toMatchObject({
      source: 'clients[0]',
      alg: 'RS256',
      typ: 'JWT',
    });
    expect(tokenProfileFor(config, 'partner-x', ['https://other'])).toMatchObject({
      source: 'defaults',
      alg: undefined,
      typ: 'at+jwt',
    });
  });
});

describe('check refuses a profile that would widen or cannot sign', () => {
  const rule = (token: string) => `  - client_id: partner-x\n    token:\n${token}`;
  it.each<[string, string, string, string]>([
    [
      'a fixed scope',
      rule('      claims: { scope: "admin" }\n'),
      '',
      ':13: clients[0].token.claims.scope: a fixed claim cannot be',
    ],
    [
      'a fixed scp',
      rule('      claims: { scp: [admin] }\n'),
      '',
      ':13: clients[0].token.claims.scp: a fixed claim cannot be',
    ],
    [
      'fixed permissions',
      rule('      claims:\n        permissions: [admin]\n'),
      '',
      ':14: clients[0].token.claims.permissions: a fixed claim cannot be',
    ],
    [
      'a fixed authorization claim (the default list)',
      rule('      claims: { roles: [admin] }\n'),
      '',
      'clients[0].token.claims.roles: an authorization claim',
    ],
    [
      'a fixed authorization claim even when kept from upstream tokens',
      rule('      claims: { roles: [admin] }\n'),
      'tokens:\n  authorization_claims: { roles: keep }\n',
      'clients[0].token.claims.roles: an authorization claim',
    ],
    [
      'a fixed authorization claim the config adds',
      rule('      claims: { "https://example.com/entitlements": [x] }\n'),
      'tokens:\n  authorization_claims: { "https://example.com/entitlements": drop }\n',
      'clients[0].token.claims.https://example.com/entitlements: an authorization claim',
    ],
    [
      'a fixed sub',
      rule('      claims: { sub: someone }\n'),
      '',
      'clients[0].token.claims.sub: a fixed claim cannot be',
    ],
    [
      'a fixed act',
      rule('      claims: { act: { sub: x } }\n'),
      '',
      'clients[0].token.claims.act: a fixed claim cannot be',
    ],
    [
      'a fixed acr',
      rule('      claims: { acr: mfa }\n'),
      '',
      'clients[0].token.claims.acr: a fixed claim cannot be',
    ],
    ['carry scope', rule('      carry: [scope]\n'), '', 'clients[0].token.carry[0]:'],
    [
      'carry permissions',
      rule('      carry: [gty, permissions]\n'),
      '',
      'clients[0].token.carry[1]:',
    ],
    [
      'carry of a dropped authorization claim',
      rule('      carry: [roles]\n'),
      '',
      'clients[0].token.carry[0]: tokens.authorization_claims drops this claim',
    ],
    [
      'a scope claim named like an authorization claim',
      rule('      scope_claims: [{ name: permissions, format: array }]\n'),
      '',
      'clients[0].token.scope_claims[0].name:',
    ],
    [
      'a scope claim named roles',
      rule('      scope_claims: [{ name: roles, format: array }]\n'),
      '',
      'clients[0].token.scope_claims[0].name: an authorization claim',
    ],
    [
      'a scope claim named sub',
      rule('      scope_claims: [{ name: sub, format: string }]\n'),
      '',
      'clients[0].token.scope_claims[0].name:',
    ],
    [
      'one name twice',
      rule('      scope_claims: [{ name: scopes, format: array }]\n      carry: [scopes]\n'),
      '',
      'clients[0].token.carry[0]: "scopes" is already named in scope_claims',
    ],
    [
      'an algorithm without an active key',
      rule('      alg: PS256\n'),
      '',
      ':13: clients[0].token.alg: no active PS256 key in signing.keys',
    ],
    [
      'an algorithm whose key is only next',
      rule('      alg: EdDSA\n'),
      '',
      'clients[0].token.alg: no active EdDSA key',
    ],
    [
      'a lifetime over tokens.max_lifetime',
      rule('      lifetime: 2h\n'),
      '',
      'clients[0].token.lifetime: longer than tokens.max_lifetime',
    ],
    [
      'a zero lifetime',
      rule('      lifetime: 0s\n'),
      '',
      'clients[0].token.lifetime: lifetime must be',
    ],
    ['an unknown typ', rule('      typ: jwt\n'), '', 'clients[0].token.typ:'],
    ['an unknown key', rule('      lifetme: 5m\n'), '', 'clients[0].token.lifetme: unknown key'],
    [
      'scope_format beside scope_claims',
      '  - client_id: partner-x\n    scope_format: array\n    token:\n      scope_claims: [{ name: scope, format: string }]\n',
      '',
      'clients[0].scope_format: set either scope_format or token.scope_claims',
    ],
  ])('%s', (_what, clients, extra, expected) => {
    const text = configText(clients, extra).replace(
      '    - { kid: rs, alg: RS256, private_key_file: rs.pem }\n',
      '    - { kid: rs, alg: RS256, private_key_file: rs.pem }\n    - { kid: ed, alg: EdDSA, private_key_file: ed.pem, status: next }\n',
    );
    const errors = errorsOf(text);
    expect(
      errors.some((error) => error.startsWith('cfg.yaml:') && error.includes(expected)),
      errors.join('\n'),
    ).toBe(true);
  });

  it('accepts carrying an authorization claim the config keeps', () => {
    const config = parsed(
      '  - client_id: partner-x\n    token: { carry: [roles] }\n',
      'tokens:\n  authorization_claims: { roles: keep }\n',
    );
    expect(config.clients[0]?.token?.carry).toEqual(['roles']);
  });

  it.each<[string, string, string]>([
    [
      'two algorithms active, no default',
      '    - { kid: es, alg: ES256, private_key_file: es.pem }\n    - { kid: rs, alg: RS256, private_key_file: rs.pem }\n',
      'signing.default_alg: active keys of ES256, RS256',
    ],
    [
      'a default without an active key',
      '    - { kid: es, alg: ES256, private_key_file: es.pem }\n  default_alg: RS256\n',
      'signing.default_alg: no active RS256 key',
    ],
    [
      'two active keys of one algorithm',
      '    - { kid: es, alg: ES256, private_key_file: es.pem }\n    - { kid: es2, alg: ES256, private_key_file: es2.pem }\n',
      'signing.keys[1].status: a second active ES256 key',
    ],
  ])('signing: %s', (_what, keys, expected) => {
    const text = `issuer: "https://auth.example.com"\nupstream:\n  url: "https://tenant.example.com"\nsigning:\n  keys:\n${keys}`;
    const errors = errorsOf(text);
    expect(
      errors.some((error) => error.includes(expected)),
      errors.join('\n'),
    ).toBe(true);
  });

  it('`scopegate check` prints the refusal as FILE:LINE: path: message and fails', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-profile-'));
    try {
      const file = path.join(dir, 'scopegate.yaml');
      await writeFile(
        file,
        configText('  - client_id: partner-x\n    token:\n      claims: { scope: admin }\n'),
      );
      const result = await checkConfig(file, {});
      expect(result.ok).toBe(false);
      expect(result.lines).toContainEqual(
        `${file}:12: clients[0].token.claims.scope: a fixed claim cannot be scope, scp, permissions, an authorization claim or a claim scopegate sets`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SigningKeySet: one active key per algorithm', () => {
  it.each<[string, SigningKey[], SigningAlgorithm | undefined, string | RegExp]>([
    ['one active key: the default without naming it', [ES], undefined, 'es'],
    ['two algorithms, the default named', [ES, RS], 'RS256', 'rs'],
    ['two algorithms, none named', [ES, RS], undefined, /signing.default_alg must pick one/],
    ['the named default has no active key', [ES], 'RS256', /no active RS256 signing key/],
    [
      'two active keys of one algorithm',
      [ES, keyOf('ES256', 'es2', 'active')],
      'ES256',
      /more than one active ES256/,
    ],
    ['no active key', [keyOf('ES256', 'n', 'next')], undefined, /no signing key is active/],
  ])('%s', (_what, keys, defaultAlg, expected) => {
    if (typeof expected === 'string') {
      const set = new SigningKeySet(keys, defaultAlg);
      expect(set.active.kid).toBe(expected);
    } else {
      expect(() => new SigningKeySet(keys, defaultAlg)).toThrow(expected);
    }
  });

  it('picks the active key of each algorithm, never a next or retired one', () => {
    const set = new SigningKeySet(
      [keyOf('RS256', 'rs-old', 'retired'), ES, keyOf('RS256', 'rs-next', 'next'), RS],
      'ES256',
    );
    expect(set.activeFor('RS256')?.kid).toBe('rs');
    expect(set.activeFor('ES256')?.kid).toBe('es');
    expect(set.activeFor('PS256')).toBeUndefined();
    expect(set.activeAlgorithms()).toEqual(['ES256', 'RS256']);
    expect(set.jwks().keys.map((key) => key.kid)).toEqual(['rs-old', 'es', 'rs-next', 'rs']);
  });
});

describe('explain shows the profile a request would get', () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-profile-explain-'));
    file = path.join(dir, 'scopegate.yaml');
    await writeFile(
      file,
      configText(`  - client_id: partner-x
    audience: ${PARTNER_API}
    token:
      lifetime: 5m
      alg: RS256
      typ: JWT
      scope_claims: [{ name: scope, format: array }]
      claims: { partner_id: acme }
      carry: [azp, gty]
`),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('for the partner at its audience', async () => {
    const output = await explain({
      config: file,
      client: 'partner-x',
      grant: 'client_credentials',
      audience: PARTNER_API,
      granted: 'read:appointments read:prescriptions read:msg',
      requested: 'read:appointments read:prescriptions',
    });
    expect(output.stdout).toContain(
      [
        `token profile (clients[0].token, client partner-x, audience ${PARTNER_API}):`,
        '  signed with RS256 (key rs), typ JWT',
        "  lifetime at most 300s, never past the upstream token's exp",
        '  scope claims: scope ["read:appointments","read:prescriptions"]',
        '  fixed claims: {"partner_id":"acme"}',
        '  carried from the upstream token: azp, gty (act always)',
      ].join('\n'),
    );
    const json = await explain({
      config: file,
      client: 'partner-x',
      grant: 'client_credentials',
      audience: PARTNER_API,
      granted: 'read:appointments',
      json: true,
    });
    expect(JSON.parse(json.stdout).token_profile).toEqual({
      source: 'clients[0]',
      alg: 'RS256',
      kid: 'rs',
      typ: 'JWT',
      lifetime_seconds: 300,
      scope_claims: [{ name: 'scope', format: 'array' }],
      claims: { partner_id: 'acme' },
      carry: ['azp', 'gty'],
    });
  });

  it('for the same client at another audience: the default scope claim line', async () => {
    const output = await explain({
      config: file,
      client: 'partner-x',
      grant: 'client_credentials',
      audience: 'https://other',
      granted: 'read:appointments',
    });
    expect(output.stdout).not.toContain('token profile');
    expect(output.stdout).toContain(
      'scope claim: string "read:appointments" (tokens.scope_format)',
    );
  });

  it('for a profile without carry: the allowlist everyone gets', async () => {
    const bare = path.join(dir, 'bare.yaml');
    await writeFile(
      bare,
      configText(
        '  - client_id: partner-x\n    token: { typ: JWT }\n',
        'tokens:\n  carry_claims: [azp, "https://example.com/tenant"]\n',
      ),
    );
    const output = await explain({
      config: bare,
      client: 'partner-x',
      grant: 'client_credentials',
      granted: 'read:appointments',
    });
    expect(output.stdout).toContain(
      '  carried from the upstream token: tokens.carry_claims (azp, https://example.com/tenant), the identity claims the issued scopes release, authorization claims marked keep (act always)',
    );
  });
});

describe("scopegate reads back its own tokens of a profile's typ", () => {
  const clients = `  - client_id: partner-x
    audience: ${PARTNER_API}
    token: { alg: RS256, typ: JWT }
  - client_id: bare
    token: { typ: none }
`;
  const config = parsed(clients);
  const runtime = {
    config,
    signingKeys: new SigningKeySet([ES, RS], 'ES256'),
    revokedTokens: new RevokedTokens(config.tokens.revocation),
  } as Runtime;
  const claims = (clientId: string, extra: JWTPayload = {}): JWTPayload => ({
    iss: config.issuer,
    sub: `${clientId}@clients`,
    aud: PARTNER_API,
    client_id: clientId,
    iat: NOW,
    exp: NOW + 300,
    jti: 'j',
    scope: 'read:msg',
    ...extra,
  });

  it.each<[string, SigningKey, TokenTyp, JWTPayload, boolean]>([
    ['at+jwt, any client', ES, 'at+jwt', claims('someone'), true],
    ['typ JWT where the profile says JWT', RS, 'JWT', claims('partner-x'), true],
    ['no typ where the profile says none', ES, 'none', claims('bare'), true],
    ['typ JWT where the profile says at+jwt', ES, 'JWT', claims('someone'), false],
    [
      'typ JWT for the profile client at another audience',
      RS,
      'JWT',
      claims('partner-x', { aud: 'https://other' }),
      false,
    ],
    ['typ JWT without client_id', RS, 'JWT', claims('partner-x', { client_id: undefined }), false],
    [
      'an ID token (at_hash) of the profile client',
      RS,
      'JWT',
      claims('partner-x', { at_hash: 'h' }),
      false,
    ],
    [
      'an ID token (nonce) of the profile client',
      RS,
      'JWT',
      claims('partner-x', { nonce: 'n' }),
      false,
    ],
  ])('%s', async (_what, key, typ, payload, accepted) => {
    const token = key.signers[typ].sign(payload);
    const verifying = verifyOwnToken(token, runtime);
    if (accepted) await expect(verifying).resolves.toMatchObject({ client_id: payload.client_id });
    else await expect(verifying).rejects.toThrow(/typ/);
  });
});
