/**
 * The discovery field table (proxy/rules/metadata-fields.ts) applied field by field, and the
 * README's table checked against it so the documentation cannot drift from the code.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type MetadataContext, publicMetadata } from '../../proxy/issued/public-metadata.js';
import { packageRoot } from '../../proxy/observability/package-root.js';
import {
  keepListRefusal,
  listedTreatment,
  METADATA_FIELDS,
} from '../../proxy/rules/metadata-fields.js';

const UP = 'http://idp.internal:8080';
const PUBLIC_UP = 'https://login.example.com';

const context = (over: Partial<MetadataContext> = {}): MetadataContext => ({
  issuer: 'https://auth.example.com/gw',
  tokenPath: '/oauth/token',
  upstreamUrl: UP,
  signingAlgorithms: ['ES256', 'EdDSA'],
  isBlocked: (p) => p === '/blocked',
  ...over,
});

describe('publicMetadata', () => {
  const upstream = {
    issuer: `${PUBLIC_UP}/`,
    jwks_uri: `${PUBLIC_UP}/jwks`,
    token_endpoint: `${PUBLIC_UP}/oauth/token`,
    authorization_endpoint: `${PUBLIC_UP}/authorize?tenant=a`,
    end_session_endpoint: `${UP}/logout`,
    revocation_endpoint: 'https://elsewhere.example.com/revoke',
    pushed_authorization_request_endpoint: `${PUBLIC_UP}/blocked`,
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'private_key_jwt',
      'client_secret_jwt',
      'tls_client_auth',
      'none',
    ],
    response_modes_supported: ['query', 'fragment', 'form_post', 'jwt'],
    backchannel_token_delivery_modes_supported: ['poll', 'ping', 'push'],
    signed_metadata: 'eyJ...',
    dpop_signing_alg_values_supported: ['ES256'],
    mtls_endpoint_aliases: { token_endpoint: 'https://mtls.example.com/token' },
    scopes_supported: ['openid'],
    service_documentation: 'https://docs.example.com/',
    vendor_widget_endpoint: 'https://cdn.example.net/widget',
    vendor_portal: `${PUBLIC_UP}/portal`,
    vendor_flag: true,
    // glewlwyd's: the upstream's algorithms, not scopegate's
    access_token_signing_alg_values_supported: ['RS256', 'RS512'],
    // not in the table, not keep-listed: left out, whatever they say
    x_unlisted_flag: true,
    x_unlisted_endpoint: `${PUBLIC_UP}/unlisted`,
    x_unlisted_alg_values_supported: ['RS256'],
  };
  const cases: Array<[string, unknown]> = [
    ['issuer', 'https://auth.example.com/gw'],
    ['jwks_uri', 'https://auth.example.com/gw/.well-known/jwks.json'],
    ['token_endpoint', 'https://auth.example.com/gw/oauth/token'],
    // On the document issuer's public origin, query kept.
    ['authorization_endpoint', 'https://auth.example.com/gw/authorize?tenant=a'],
    // On upstream.url's (internal) origin.
    ['end_session_endpoint', 'https://auth.example.com/gw/logout'],
    // Another host: not reachable through scopegate.
    ['revocation_endpoint', undefined],
    // A blocked path answers 404 through scopegate.
    ['pushed_authorization_request_endpoint', undefined],
    ['id_token_signing_alg_values_supported', ['ES256', 'EdDSA']],
    ['token_endpoint_auth_methods_supported', ['client_secret_basic', 'none']],
    ['response_modes_supported', ['query', 'fragment', 'form_post']],
    ['backchannel_token_delivery_modes_supported', ['poll', 'ping']],
    ['signed_metadata', undefined],
    ['dpop_signing_alg_values_supported', undefined],
    ['mtls_endpoint_aliases', undefined],
    ['scopes_supported', ['openid']],
    ['service_documentation', 'https://docs.example.com/'],
    // keep-listed vendor fields: an endpoint elsewhere dropped, a URL on the upstream moved
    ['vendor_widget_endpoint', undefined],
    ['vendor_portal', 'https://auth.example.com/gw/portal'],
    ['vendor_flag', true],
    ['access_token_signing_alg_values_supported', ['ES256', 'EdDSA']],
    ['x_unlisted_flag', undefined],
    ['x_unlisted_endpoint', undefined],
    ['x_unlisted_alg_values_supported', undefined],
    ['request_parameter_supported', false],
    ['request_uri_parameter_supported', false],
  ];
  const keepFields = ['vendor_widget_endpoint', 'vendor_portal', 'vendor_flag'];
  const document = publicMetadata(upstream, context({ keepFields }));
  it.each(cases)('%s', (name, expected) => {
    if (expected === undefined) expect(document).not.toHaveProperty(name);
    else expect(document[name]).toEqual(expected);
  });

  it('holds only fields the table or the keep-list names', () => {
    for (const name of Object.keys(document)) {
      expect(
        listedTreatment(name) !== undefined || keepFields.includes(name),
        `${name} is neither in the table nor keep-listed`,
      ).toBe(true);
    }
  });

  it('leaves out every unlisted field without a keep-list, `__proto__` and `constructor` too', () => {
    const hostile = JSON.parse(
      '{"issuer":"https://login.example.com/","__proto__":{"polluted":true},"constructor":"x","toString":"y","vendor_flag":true}',
    ) as Record<string, unknown>;
    const bare = publicMetadata(hostile, context());
    expect(Object.keys(bare).sort()).toEqual(
      [
        'issuer',
        'jwks_uri',
        'request_parameter_supported',
        'request_uri_parameter_supported',
        'token_endpoint',
      ].sort(),
    );
    expect(Object.getPrototypeOf(bare)).toBe(Object.prototype);
  });

  it('advertises userinfo only with tokens.upstream_token_key, introspection whenever offered', () => {
    const offered = {
      issuer: `${PUBLIC_UP}/`,
      userinfo_endpoint: `${PUBLIC_UP}/userinfo`,
      introspection_endpoint: `${UP}/oauth/introspect`,
      userinfo_signing_alg_values_supported: ['RS256'],
    };
    const without = publicMetadata(offered, context());
    expect(without).not.toHaveProperty('userinfo_endpoint');
    expect(without.introspection_endpoint).toBe('https://auth.example.com/gw/oauth/introspect');
    const withKey = publicMetadata(offered, context({ upstreamTokenKey: true }));
    expect(withKey.userinfo_endpoint).toBe('https://auth.example.com/gw/userinfo');
    // A signed userinfo answer is the upstream's JWT: never offered.
    expect(withKey).not.toHaveProperty('userinfo_signing_alg_values_supported');
    const blocked = publicMetadata(
      { ...offered, userinfo_endpoint: `${PUBLIC_UP}/blocked` },
      context({ upstreamTokenKey: true }),
    );
    expect(blocked).not.toHaveProperty('userinfo_endpoint');
  });

  it('drops endpoints outside the base path of upstream.url', () => {
    const based = publicMetadata(
      {
        issuer: `${UP}/realms/acme`,
        authorization_endpoint: `${UP}/realms/acme/protocol/auth`,
        end_session_endpoint: `${UP}/other/logout`,
      },
      context({ upstreamUrl: `${UP}/realms/acme/`, issuer: 'https://auth.example.com' }),
    );
    expect(based.authorization_endpoint).toBe('https://auth.example.com/protocol/auth');
    expect(based).not.toHaveProperty('end_session_endpoint');
  });
});

describe("README's discovery table", () => {
  it('lists every field of the table with its treatment', async () => {
    const readme = await readFile(path.join(packageRoot(), 'proxy', 'issued', 'README.md'), 'utf8');
    const rows = new Map<string, string>();
    for (const match of readme.matchAll(
      /^\| `([a-z_]+)` \| (own|endpoint|filtered|kept|dropped) \|/gm,
    )) {
      rows.set(match[1] as string, match[2] as string);
    }
    for (const [name, treatment] of Object.entries(METADATA_FIELDS)) {
      expect(rows.get(name), `README discovery table row for ${name}`).toBe(treatment.kind);
    }
  });
});

describe('discovery.keep_fields', () => {
  it.each(Object.entries(METADATA_FIELDS))('refuses the table field %s', (name, treatment) => {
    const refusal = keepListRefusal(name);
    expect(refusal).toEqual(expect.any(String));
    if (treatment.kind === 'own') expect(refusal).toMatch(/owns/);
    if (treatment.kind === 'dropped') expect(refusal).toMatch(/drops/);
  });

  it.each([['tenant_region'], ['vendor_portal_endpoint'], ['constructor'], ['toString']])(
    'accepts the vendor field %s',
    (name) => {
      expect(keepListRefusal(name)).toBeUndefined();
    },
  );
});
