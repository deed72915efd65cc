/**
 * scopegate's public documents: its JWKS (its own public keys only, never the upstream's, never
 * a private member) and the upstream's discovery documents re-pointed at scopegate.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_FIELDS } from '../../proxy/rules/metadata-fields.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { type OidcUpstream, startOidcUpstream } from '../fixtures/oidc-upstream.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { rawMessage, rawRequest } from '../support/raw-http.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const DISCOVERY = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];
const REWRITTEN = ['issuer', 'jwks_uri', 'token_endpoint', 'grant_types_supported'];
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** scopegate serves token exchange itself (on by default): the upstream's grants plus that one. */
function expectGrantsWithExchange(
  body: Record<string, unknown>,
  upstream: Record<string, unknown>,
) {
  const listed = (upstream.grant_types_supported as string[] | undefined) ?? [
    'authorization_code',
    'implicit',
  ];
  // The implicit grant is refused at the authorization endpoint: never advertised.
  const upstreamGrants = listed.filter((grant) => grant !== 'implicit');
  expect(body.grant_types_supported).toEqual([...upstreamGrants, TOKEN_EXCHANGE]);
}

interface Jwks {
  keys: Array<Record<string, unknown>>;
}

let emulator: RunningAuth0Emulator;
let oidc: OidcUpstream;
let gateway: TestGateway;
let oidcGateway: TestGateway;

beforeAll(async () => {
  [emulator, oidc] = await Promise.all([
    startAuth0Emulator({
      clients: [{ clientId: 'm2m', clientSecret: 's', grants: { api: ['a'] } }],
      defaultAudience: 'api',
    }),
    startOidcUpstream(),
  ]);
  [gateway, oidcGateway] = await Promise.all([
    startTestGateway({
      upstreamUrl: emulator.url,
      scopeRequest: 'omit',
      keys: [
        { kid: 'k-active', alg: 'ES256', status: 'active' },
        { kid: 'k-next', alg: 'RS256', status: 'next' },
        {
          kid: 'k-retired',
          alg: 'EdDSA',
          status: 'retired',
          publish_until: '2999-01-01T00:00:00Z',
        },
        { kid: 'k-gone', alg: 'ES384', status: 'retired', publish_until: '2000-01-01T00:00:00Z' },
      ],
    }),
    startTestGateway({ upstreamUrl: oidc.url, tokenPath: oidc.tokenPath }),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), oidcGateway?.close()]);
  await Promise.all([emulator?.close(), oidc?.close()]);
});

async function getJson<T = Record<string, unknown>>(
  url: string,
): Promise<{ response: Response; body: T }> {
  const response = await fetch(url);
  return { response, body: (await response.json()) as T };
}

describe('/.well-known/jwks.json', () => {
  it("serves scopegate's published keys and none of the upstream's", async () => {
    const { response, body } = await getJson<Jwks>(`${gateway.url}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/jwk-set\+json/);
    expect(response.headers.get('cache-control')).toMatch(/public/);
    expect(body.keys.map((key) => key.kid)).toEqual(['k-active', 'k-next', 'k-retired']);
    expect(body.keys.map((key) => key.alg)).toEqual(['ES256', 'RS256', 'EdDSA']);
    const upstreamJwks = (await (await fetch(emulator.jwksUri)).json()) as Jwks;
    const upstreamKids = upstreamJwks.keys.map((key) => key.kid);
    expect(upstreamKids.length).toBeGreaterThan(0);
    for (const kid of upstreamKids) expect(body.keys.map((key) => key.kid)).not.toContain(kid);
    // The upstream's modulus must not appear either, whatever kid it were given.
    const upstreamModuli = upstreamJwks.keys.map((key) => key.n);
    for (const key of body.keys) expect(upstreamModuli).not.toContain(key.n);
  });

  it('publishes public members only', async () => {
    const { body } = await getJson<Jwks>(`${gateway.url}/.well-known/jwks.json`);
    for (const key of body.keys) {
      for (const member of PRIVATE_MEMBERS)
        expect(key, `${key.kid}.${member}`).not.toHaveProperty(member);
      expect(key.use).toBe('sig');
    }
    expect(body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(body.keys[1]).toMatchObject({ kty: 'RSA', e: 'AQAB' });
    expect(body.keys[2]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
  });

  it('answers HEAD and ignores a query string', async () => {
    const head = await fetch(`${gateway.url}/.well-known/jwks.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const { body } = await getJson<Jwks>(`${gateway.url}/.well-known/jwks.json?x=1`);
    expect(body.keys[0]?.kid).toBe('k-active');
  });

  it('serves its own keys for spellings the upstream would treat as the same path', async () => {
    for (const target of [
      '/.well-known/jwks.json/',
      '/.well-known/x/../jwks.json',
      '/.WELL-KNOWN/jwks.json',
    ]) {
      const answer = await rawRequest(gateway.url, rawMessage('GET', target));
      expect(answer.status, target).toBe(200);
      expect((JSON.parse(answer.body) as Jwks).keys[0]?.kid, target).toBe('k-active');
    }
  });

  it('keeps serving its keys when the upstream is down', async () => {
    const down = await gatewayForClosedPort();
    try {
      const { response, body } = await getJson<Jwks>(`${down.url}/.well-known/jwks.json`);
      expect(response.status).toBe(200);
      expect(body.keys.map((key) => key.kid)).toEqual(['test-key']);
    } finally {
      await down.close();
    }
  });
});

/**
 * Each upstream field as the discovery table says (proxy/rules/metadata-fields.ts): kept as is,
 * moved onto scopegate, filtered, or dropped; the three scopegate always owns are checked apart.
 */
function expectTreatedByTable(upstreamDoc: Record<string, unknown>, body: Record<string, unknown>) {
  for (const [name, value] of Object.entries(upstreamDoc)) {
    // Token exchange, served by scopegate, is added to the upstream's grants: checked apart.
    if (REWRITTEN.includes(name) || name === 'grant_types_supported') continue;
    const treatment = Object.hasOwn(METADATA_FIELDS, name) ? METADATA_FIELDS[name] : undefined;
    if (treatment === undefined) {
      // Not in the table and not keep-listed: left out, whatever it says.
      expect(body, name).not.toHaveProperty(name);
    } else if (treatment.kind === 'kept') {
      expect(body[name], name).toEqual(value);
    } else if (treatment.kind === 'dropped') {
      expect(body, name).not.toHaveProperty(name);
    } else if (treatment.kind === 'endpoint' && treatment.requires !== undefined) {
      // These gateways have no tokens.upstream_token_key: userinfo cannot work through them.
      expect(body, name).not.toHaveProperty(name);
    } else if (treatment.kind === 'endpoint') {
      expect(String(body[name]).startsWith('https://gateway.test/'), name).toBe(true);
    } else if (treatment.kind === 'filtered') {
      expect(body[name], name).toEqual(
        (value as string[]).filter(
          (item) => !treatment.remove.includes(item) && treatment.removeIf?.(item) !== true,
        ),
      );
    }
  }
}

describe('discovery documents', () => {
  it.each(DISCOVERY)(
    "%s is the Auth0 emulator's document re-pointed at scopegate",
    async (path) => {
      const upstreamDoc = (await (
        await fetch(`${emulator.url}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      const { response, body } = await getJson(`${gateway.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(body).toMatchObject({
        issuer: 'https://gateway.test',
        jwks_uri: 'https://gateway.test/.well-known/jwks.json',
        token_endpoint: 'https://gateway.test/oauth/token',
      });
      expectTreatedByTable(upstreamDoc, body);
      expectGrantsWithExchange(body, upstreamDoc);
      // The emulator serves no authorization endpoint and names neither it nor a response type.
      expect(body).not.toHaveProperty('authorization_endpoint');
      expect(body.response_types_supported).toEqual([]);
    },
  );

  it.each(DISCOVERY)("%s is oidc-provider's document re-pointed at scopegate", async (path) => {
    const upstreamDoc = (await (
      await fetch(`${oidc.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    const { body } = await getJson(`${oidcGateway.url}${path}`);
    expect(body).toMatchObject({
      issuer: 'https://gateway.test',
      jwks_uri: 'https://gateway.test/.well-known/jwks.json',
      token_endpoint: 'https://gateway.test/token',
    });
    expectTreatedByTable(upstreamDoc, body);
    expectGrantsWithExchange(body, upstreamDoc);
    // Only the code flow (and none): oidc-provider's `code id_token` and `id_token` are gone,
    // since the authorization endpoint would return the upstream's own ID token.
    expect(upstreamDoc.response_types_supported).toEqual(
      expect.arrayContaining(['code id_token', 'id_token']),
    );
    expect(body.response_types_supported).toEqual(['code', 'none']);
    // Endpoints scopegate proxies are advertised on scopegate: they work through it.
    expect(body.authorization_endpoint).toBe(
      `https://gateway.test${new URL(upstreamDoc.authorization_endpoint as string).pathname}`,
    );
  });

  it('answers 503 JSON when the upstream document cannot be fetched', async () => {
    const down = await gatewayForClosedPort();
    try {
      const response = await fetch(`${down.url}/.well-known/openid-configuration`);
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(JSON.parse(text)).toMatchObject({ error: 'temporarily_unavailable' });
    } finally {
      await down.close();
    }
  });
});

async function gatewayForClosedPort(): Promise<TestGateway> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return startTestGateway({ upstreamUrl: `http://127.0.0.1:${port}` });
}
