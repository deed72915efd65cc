/**
 * JWT client authentication verified by scopegate in front of the Auth0 emulator, which knows
 * only client secrets: openid-client v6 authenticates with `PrivateKeyJwt` and `ClientSecretJwt`,
 * scopegate checks the assertion (RFC 7523 §3) and asks the emulator with the client's secret
 * there (`clients[].upstream_auth`), never with the client's assertion. Every refusal is 401
 * invalid_client before anything reaches the upstream (a table, one row per check).
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { postForm, readTokenAnswer } from '../support/gateway.js';
import {
  API,
  assertionClaims,
  type ClientKey,
  clientKey,
  JWT_BEARER,
  oauthError,
  postWithAssertion,
  signAssertion,
  unsignedAssertion,
} from './client-auth-harness.js';

const KEY_CLIENT = 'jwt-client';
const KEY_CLIENT_UPSTREAM_SECRET = 'jwt-client secret at the upstream';
const HS_CLIENT = 'hs-client';
const HS_CLIENT_SECRET = 'hs-client secret, 32 bytes or more, for HS256';
const HS_CLIENT_UPSTREAM_SECRET = 'hs-client secret at the upstream';

let upstream: RunningAuth0Emulator;
let gateway: SelfIssuedGateway;
let key: ClientKey;
let tokenUrl: string;

beforeAll(async () => {
  key = await clientKey('client-key-1');
  upstream = await startAuth0Emulator({
    clients: [
      {
        clientId: KEY_CLIENT,
        clientSecret: KEY_CLIENT_UPSTREAM_SECRET,
        grants: { [API]: ['read:claims', 'write:claims'] },
      },
      {
        clientId: HS_CLIENT,
        clientSecret: HS_CLIENT_UPSTREAM_SECRET,
        grants: { [API]: ['read:claims'] },
      },
    ],
    defaultAudience: API,
  });
  gateway = await startSelfIssuedGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    config: {
      clients: [
        {
          client_id: KEY_CLIENT,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [key.publicJwk] },
          upstream_auth: {
            method: 'client_secret_basic',
            client_secret: KEY_CLIENT_UPSTREAM_SECRET,
          },
        },
        {
          client_id: HS_CLIENT,
          token_endpoint_auth_method: 'client_secret_jwt',
          client_secret: HS_CLIENT_SECRET,
          upstream_auth: { method: 'client_secret_post', client_secret: HS_CLIENT_UPSTREAM_SECRET },
        },
      ],
    },
  });
  tokenUrl = `${gateway.issuer}/oauth/token`;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

function discover(clientId: string, auth: oidc.ClientAuth): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(gateway.issuer), clientId, undefined, auth, {
    execute: [oidc.allowInsecureRequests],
  });
}

function lastUpstreamRequest() {
  const requests = upstream.tokenRequests();
  return requests[requests.length - 1];
}

describe('openid-client through scopegate', () => {
  it('PrivateKeyJwt: scopegate verifies the assertion and the upstream gets the client secret there', async () => {
    const config = await discover(
      KEY_CLIENT,
      oidc.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }),
    );
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'read:claims' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    const answer = await readTokenAnswer(
      new Response(JSON.stringify({ access_token: tokens.access_token })),
    );
    expect(answer.claims).toMatchObject({
      iss: gateway.issuer,
      scope: 'read:claims',
      client_id: KEY_CLIENT,
    });
    const seen = lastUpstreamRequest();
    const basic = Buffer.from(
      `${KEY_CLIENT}:${encodeURIComponent(KEY_CLIENT_UPSTREAM_SECRET).replace(/%20/g, '+')}`,
    ).toString('base64');
    expect(seen?.headers.authorization).toBe(`Basic ${basic}`);
    expect(Object.keys(seen?.params ?? {}).sort()).toEqual(['grant_type']);
  });

  it('ClientSecretJwt: HS256 with the secret scopegate holds; the upstream gets client_secret_post', async () => {
    const config = await discover(HS_CLIENT, oidc.ClientSecretJwt(HS_CLIENT_SECRET));
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'read:claims' });
    expect(typeof tokens.access_token).toBe('string');
    const seen = lastUpstreamRequest();
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.params).toEqual({
      grant_type: 'client_credentials',
      client_id: HS_CLIENT,
      client_secret: HS_CLIENT_UPSTREAM_SECRET,
    });
  });

  it('discovery advertises the JWT methods scopegate verifies, and their algorithms', async () => {
    const config = await discover(KEY_CLIENT, oidc.PrivateKeyJwt(key.privateKey));
    const metadata = config.serverMetadata();
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'private_key_jwt', 'client_secret_jwt']),
    );
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toEqual(
      expect.arrayContaining(['ES256', 'PS256', 'EdDSA', 'HS256']),
    );
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain('none');
  });
});

describe('a replayed assertion', () => {
  it('is refused the second time, without reaching the upstream', async () => {
    const assertion = await signAssertion(assertionClaims(KEY_CLIENT, gateway.issuer), key);
    const first = await postWithAssertion(tokenUrl, assertion);
    expect(first.status, await first.clone().text()).toBe(200);
    const before = upstream.tokenRequests().length;
    const again = await oauthError(await postWithAssertion(tokenUrl, assertion));
    expect(again).toMatchObject({ status: 401, error: 'invalid_client' });
    expect(again.description).toMatch(/already used/);
    expect(upstream.tokenRequests().length).toBe(before);
  });
});

/** One refused request: how it is made, and what the description says. */
interface Refusal {
  name: string;
  request: () => Promise<Response>;
  says: RegExp;
  challenge?: boolean;
}

function withClaims(overrides: Record<string, unknown>, audience?: string | string[]) {
  return async () =>
    postWithAssertion(
      tokenUrl,
      await signAssertion(assertionClaims(KEY_CLIENT, audience ?? gateway.issuer, overrides), key),
    );
}

const now = () => Math.floor(Date.now() / 1000);

const REFUSALS: Refusal[] = [
  {
    name: 'aud of another server',
    request: () => withClaims({}, 'https://other.example.com')(),
    says: /aud/,
  },
  {
    name: 'aud with another server beside this one',
    request: () => withClaims({}, [gateway.issuer, 'https://other.example.com'])(),
    says: /aud/,
  },
  {
    name: 'aud of an endpoint that is not the token endpoint',
    request: () => withClaims({}, `${gateway.issuer}/userinfo`)(),
    says: /aud/,
  },
  {
    name: 'expired',
    request: () => withClaims({ iat: now() - 300, exp: now() - 120 })(),
    says: /expired/,
  },
  { name: 'valid for too long', request: () => withClaims({ exp: now() + 3600 })(), says: /long/ },
  {
    name: 'no exp',
    request: () => withClaims({ exp: undefined })(),
    says: /no exp/,
  },
  {
    name: 'issued in the future',
    request: () => withClaims({ iat: now() + 600 })(),
    says: /future/,
  },
  {
    name: 'not valid yet',
    request: () => withClaims({ nbf: now() + 600 })(),
    says: /not valid yet/,
  },
  { name: 'no jti', request: () => withClaims({ jti: undefined })(), says: /jti/ },
  { name: 'iss of another client', request: () => withClaims({ iss: 'someone' })(), says: /iss/ },
  {
    name: 'signed by another key under the same kid',
    request: async () =>
      postWithAssertion(
        tokenUrl,
        await signAssertion(assertionClaims(KEY_CLIENT, gateway.issuer), await clientKey(key.kid)),
      ),
    says: /signature/,
  },
  {
    name: 'a kid the client never published',
    request: async () =>
      postWithAssertion(
        tokenUrl,
        await signAssertion(assertionClaims(KEY_CLIENT, gateway.issuer), await clientKey('other')),
      ),
    says: /no key/,
  },
  {
    name: 'alg none',
    request: () =>
      postWithAssertion(tokenUrl, unsignedAssertion(assertionClaims(KEY_CLIENT, gateway.issuer))),
    says: /alg/,
  },
  {
    name: 'HS256 for a private_key_jwt client',
    request: async () =>
      postWithAssertion(
        tokenUrl,
        await signAssertion(assertionClaims(KEY_CLIENT, gateway.issuer), {
          secret: JSON.stringify(key.publicJwk),
          alg: 'HS256',
        }),
      ),
    says: /alg/,
  },
  {
    name: 'a wrong client_assertion_type',
    request: async () =>
      postWithAssertion(
        tokenUrl,
        await signAssertion(assertionClaims(KEY_CLIENT, gateway.issuer), key),
        { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' },
      ),
    says: /client_assertion_type/,
  },
  {
    name: 'the upstream secret as HTTP Basic instead of an assertion',
    request: () =>
      postForm(
        tokenUrl,
        { grant_type: 'client_credentials' },
        {
          authorization: `Basic ${Buffer.from(`${KEY_CLIENT}:${encodeURIComponent(KEY_CLIENT_UPSTREAM_SECRET)}`).toString('base64')}`,
        },
      ),
    says: /private_key_jwt/,
    challenge: true,
  },
  {
    name: 'no authentication at all',
    request: () => postForm(tokenUrl, { grant_type: 'client_credentials', client_id: KEY_CLIENT }),
    says: /private_key_jwt/,
  },
  {
    name: 'an HS256 assertion of the client_secret_jwt client with the wrong secret',
    request: async () =>
      postWithAssertion(
        tokenUrl,
        await signAssertion(assertionClaims(HS_CLIENT, gateway.issuer), {
          secret: 'not the secret of hs-client at all, but long',
          alg: 'HS256',
        }),
      ),
    says: /signature/,
  },
  {
    name: 'an ES256 assertion for the client_secret_jwt client',
    request: async () =>
      postWithAssertion(
        tokenUrl,
        await signAssertion(assertionClaims(HS_CLIENT, gateway.issuer), await clientKey('hs')),
      ),
    says: /alg/,
  },
];

describe('refused assertions: 401 invalid_client, nothing sent upstream', () => {
  it.each(REFUSALS)('$name', async ({ request, says, challenge }) => {
    const before = upstream.tokenRequests().length;
    const refused = await oauthError(await request());
    expect(refused).toMatchObject({ status: 401, error: 'invalid_client' });
    expect(refused.description).toMatch(says);
    // RFC 6749 §5.2: a challenge for the scheme the client tried, only when it tried Basic.
    expect(refused.challenge).toBe(challenge === true ? 'Basic realm="token"' : null);
    expect(upstream.tokenRequests().length).toBe(before);
  });

  it('two authentication methods in one request are invalid_request', async () => {
    const assertion = await signAssertion(assertionClaims(KEY_CLIENT, gateway.issuer), key);
    const refused = await oauthError(
      await postForm(tokenUrl, {
        grant_type: 'client_credentials',
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion,
        client_secret: 'and a secret',
      }),
    );
    expect(refused).toMatchObject({ status: 400, error: 'invalid_request' });
  });

  it('the token endpoint URL is an accepted aud as well as the issuer', async () => {
    const response = await withClaims({}, tokenUrl)();
    expect(response.status, await response.clone().text()).toBe(200);
  });
});
