/**
 * Discovery through scopegate in front of glewlwyd, whose OIDC endpoints live below /api/oidc
 * and whose document is found at a configured `upstream.discovery_path`: for an issuer at the
 * root, one with a path, and an upstream.url with the plugin's base path, every URL scopegate
 * advertises is on its issuer and answers through
 * it, the token endpoint is the path glewlwyd's discovery names, and clients that know only
 * scopegate's issuer get working tokens: openid-client's client credentials by discovery, and a
 * resource server verifying with jose's remote JWKS.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listedTreatment } from '../../proxy/rules/metadata-fields.js';
import {
  CC_CLIENT,
  type GlewlwydIdp,
  startGlewlwyd,
} from '../fixtures/glewlwyd/identity-provider.js';
import type { SelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { discoverClient } from '../support/discover-client.js';
import { startGlewlwydGateway } from './glewlwyd-gateway.js';

let idp: GlewlwydIdp;
let rooted: SelfIssuedGateway;
let pathed: SelfIssuedGateway;
/** upstream.url with a base path: the OIDC plugin's own URL. */
let based: SelfIssuedGateway;

beforeAll(async () => {
  idp = await startGlewlwyd();
  const options = { upstream: { default_scope: 'api.read api.write' } };
  [rooted, pathed, based] = await Promise.all([
    startGlewlwydGateway(idp, options),
    startGlewlwydGateway(idp, { ...options, issuerPath: '/sso' }),
    startGlewlwydGateway(idp, { upstream: { ...options.upstream, url: idp.issuer } }),
  ]);
});

afterAll(async () => {
  await Promise.all([rooted?.close(), pathed?.close(), based?.close()]);
  await idp?.stop();
});

type Document = Record<string, unknown>;

async function documentOf(gateway: SelfIssuedGateway): Promise<Document> {
  const response = await fetch(`${gateway.issuer}/.well-known/openid-configuration`);
  expect(response.status).toBe(200);
  return (await response.json()) as Document;
}

/** Every string in the document that is an http(s) URL, with the field it sits in. */
function urlsIn(document: Document): Array<[string, string]> {
  return Object.entries(document).flatMap(([name, value]) =>
    typeof value === 'string' && /^https?:\/\//.test(value)
      ? [[name, value] as [string, string]]
      : [],
  );
}

/**
 * Where the proxied endpoints appear on scopegate: below the issuer as on glewlwyd, or without
 * the base path when upstream.url has one (the proxy appends request paths to it).
 */
const ROOTED_PLUGIN = '/api/oidc';
const BASED_PLUGIN = '';

describe.each([
  ['issuer at the root', () => rooted, ROOTED_PLUGIN],
  ['issuer with a path', () => pathed, ROOTED_PLUGIN],
  ['upstream.url with a base path', () => based, BASED_PLUGIN],
])("scopegate's discovery document, %s", (_label, gatewayOf, pluginPath) => {
  it('puts every URL on scopegate, the token endpoint where glewlwyd has it', async () => {
    const gateway = gatewayOf();
    const document = await documentOf(gateway);
    expect(document.issuer).toBe(gateway.issuer);
    expect(document.token_endpoint).toBe(`${gateway.issuer}${idp.tokenPath}`);
    expect(document.authorization_endpoint).toBe(`${gateway.issuer}${pluginPath}/auth`);
    expect(document.revocation_endpoint).toBe(`${gateway.issuer}${pluginPath}/revoke`);
    expect(document.jwks_uri).toBe(`${gateway.issuer}/.well-known/jwks.json`);
    const urls = urlsIn(document);
    expect(urls.length).toBeGreaterThanOrEqual(4);
    for (const [name, url] of urls) {
      const onIssuer = url === gateway.issuer || url.startsWith(`${gateway.issuer}/`);
      expect(onIssuer, `${name}: ${url}`).toBe(true);
    }
    expect(JSON.stringify(document)).not.toContain(idp.url);
  });

  it("advertises scopegate's algorithms and drops what cannot work through it", async () => {
    const gateway = gatewayOf();
    const document = await documentOf(gateway);
    expect(document.id_token_signing_alg_values_supported).toEqual(['ES256']);
    // glewlwyd lists every algorithm of its key type here; scopegate signs what it signs.
    expect(document.access_token_signing_alg_values_supported).toEqual(['ES256']);
    // Built from the table; and every field glewlwyd publishes has a row there, so none of them
    // is lost only for want of one.
    const upstream = (await (await fetch(`${idp.url}${idp.discoveryPath}`)).json()) as Document;
    for (const name of Object.keys(document)) {
      expect(listedTreatment(name), `${name} is not in the discovery table`).toBeDefined();
    }
    expect(Object.keys(upstream).filter((name) => listedTreatment(name) === undefined)).toEqual([]);
    // glewlwyd advertises both. Userinfo needs tokens.upstream_token_key (not set here);
    // introspection is answered by scopegate for its own tokens, on its own origin.
    expect(document).not.toHaveProperty('userinfo_endpoint');
    expect(document.introspection_endpoint).toBe(`${gateway.issuer}${pluginPath}/introspect`);
    expect(document.response_modes_supported).toEqual(['query', 'fragment', 'form_post']);
    expect(document.grant_types_supported).not.toContain('implicit');
    expect(document.request_parameter_supported).toBe(false);
  });

  it("serves only scopegate's keys, never glewlwyd's", async () => {
    const document = await documentOf(gatewayOf());
    const response = await fetch(String(document.jwks_uri));
    const jwks = (await response.json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).toEqual(['gw-es']);
  });

  it('the advertised authorization endpoint reaches glewlwyd and its login page', async () => {
    const gateway = gatewayOf();
    const document = await documentOf(gateway);
    const url = new URL(String(document.authorization_endpoint));
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'web',
      redirect_uri: 'https://app.example.com/callback',
      scope: 'openid',
    }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = new URL(String(response.headers.get('location')));
    // glewlwyd's login page is outside a base path: only a root upstream.url keeps it on scopegate.
    if (pluginPath === ROOTED_PLUGIN) {
      expect(location.href.startsWith(`${gateway.issuer}/login.html?`)).toBe(true);
    } else {
      expect(`${location.origin}${location.pathname}`).toBe(`${idp.url}/login.html`);
    }
  });

  it("every spelling of the token endpoint gets scopegate's token, never glewlwyd's", async () => {
    const gateway = gatewayOf();
    const basic = `Basic ${Buffer.from(`${CC_CLIENT.client_id}:${CC_CLIENT.client_secret}`).toString('base64')}`;
    for (const path of new Set([idp.tokenPath, `${pluginPath}/token`])) {
      const response = await fetch(`${gateway.issuer}${path}`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=api.read',
      });
      expect(response.status, path).toBe(200);
      const body = (await response.json()) as { access_token: string };
      expect(decodeProtectedHeader(body.access_token).kid, path).toBe('gw-es');
    }
  });

  it('gives openid-client a client-credentials token that jose verifies by discovery', async () => {
    const gateway = gatewayOf();
    const config = await discoverClient(gateway.issuer, CC_CLIENT);
    expect(config.serverMetadata().token_endpoint).toBe(`${gateway.issuer}${idp.tokenPath}`);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'api.read' });
    expect(tokens.scope).toBe('api.read');
    const jwks = createRemoteJWKSet(new URL(String(config.serverMetadata().jwks_uri)));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: gateway.issuer,
      typ: 'at+jwt',
    });
    expect(protectedHeader.kid).toBe('gw-es');
    expect(payload).toMatchObject({ scope: 'api.read', client_id: CC_CLIENT.client_id });
    // glewlwyd's own keys do not verify it.
    const upstreamKeys = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    await expect(jwtVerify(tokens.access_token, upstreamKeys)).rejects.toThrow();
  });
});

describe('RFC 8414 path insertion for an issuer with a path', () => {
  it('serves the authorization server metadata at /.well-known/oauth-authorization-server/sso', async () => {
    const origin = new URL(pathed.issuer).origin;
    const response = await fetch(`${origin}/.well-known/oauth-authorization-server/sso`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as Document;
    expect(document.issuer).toBe(pathed.issuer);
    expect(document.token_endpoint).toBe(`${pathed.issuer}${idp.tokenPath}`);
  });
});
