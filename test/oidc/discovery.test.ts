/**
 * Discovery tells the truth: scopegate's documents, for an issuer at the root and one with a
 * path, in front of node-oidc-provider. Every URL is on scopegate's issuer and answers through
 * it; signing algorithms are scopegate's; what cannot work through scopegate is gone. Then the
 * resource-server libraries people use find scopegate's keys by discovery alone and accept its
 * ES256 tokens: express-oauth2-jwt-bearer (issuerBaseURL, requiredScopes), jose's remote JWKS and
 * oauth4webapi's validateJwtAccessToken.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_FIELDS } from '../../proxy/rules/metadata-fields.js';
import {
  LOGIN_RESOURCE,
  type LoginUpstream,
  M2M_CLIENT,
  startLoginUpstream,
} from './login-upstream.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from './self-issued-gateway.js';

let upstream: LoginUpstream;
let rooted: SelfIssuedGateway;
let pathed: SelfIssuedGateway;

beforeAll(async () => {
  upstream = await startLoginUpstream();
  const options = {
    upstreamUrl: upstream.url,
    tokenPath: upstream.tokenPath,
    keys: [
      { kid: 'es', alg: 'ES256' as const, status: 'active' as const },
      { kid: 'rs-next', alg: 'RS256' as const, status: 'next' as const },
    ],
  };
  [rooted, pathed] = await Promise.all([
    startSelfIssuedGateway(options),
    startSelfIssuedGateway(options, '/gw'),
  ]);
});

afterAll(async () => {
  await Promise.all([rooted?.close(), pathed?.close()]);
  await upstream?.close();
});

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe.each([
  ['an issuer at the root', () => rooted],
  ['an issuer with a path', () => pathed],
])('discovery for %s', (_name, gateway) => {
  it('is served at every well-known location clients derive from the issuer', async () => {
    const { issuer, url } = gateway();
    const path = new URL(issuer).pathname.replace(/\/$/, '');
    const oidc = await getJson(`${issuer}/.well-known/openid-configuration`);
    const inserted = await getJson(`${url}/.well-known/oauth-authorization-server${path}`);
    expect(oidc.issuer).toBe(issuer);
    expect(inserted).toEqual(oidc);
  });

  it("puts every URL on scopegate's issuer, and each answers through scopegate", async () => {
    const { issuer } = gateway();
    const document = await getJson(`${issuer}/.well-known/openid-configuration`);
    const urls = Object.entries(document).filter(
      (entry): entry is [string, string] =>
        typeof entry[1] === 'string' && /^https?:/.test(entry[1]) && entry[0] !== 'issuer',
    );
    expect(urls.map(([name]) => name).sort()).toEqual(
      [
        'authorization_endpoint',
        'end_session_endpoint',
        // Served by scopegate for its own tokens; userinfo only with tokens.upstream_token_key.
        'introspection_endpoint',
        'jwks_uri',
        'pushed_authorization_request_endpoint',
        'revocation_endpoint',
        'token_endpoint',
      ].sort(),
    );
    for (const [name, value] of urls) {
      expect(value.startsWith(`${issuer}/`), `${name}: ${value}`).toBe(true);
      // A request the upstream answers itself (with its own complaint), never a 404 or a 502.
      const post = /token|introspection|revocation|pushed/.test(name);
      const response = await fetch(value, { method: post ? 'POST' : 'GET', redirect: 'manual' });
      await response.arrayBuffer();
      expect([404, 502, 503, 504], `${name} answered ${response.status}`).not.toContain(
        response.status,
      );
    }
    const jwks = await getJson(document.jwks_uri as string);
    expect((jwks.keys as Array<{ kid: string }>).map((key) => key.kid)).toEqual(['es', 'rs-next']);
  });

  it("lists scopegate's algorithms and drops what cannot work through it", async () => {
    const document = await getJson(`${gateway().issuer}/.well-known/openid-configuration`);
    expect(document.id_token_signing_alg_values_supported).toEqual(['ES256', 'RS256']);
    for (const [name, treatment] of Object.entries(METADATA_FIELDS)) {
      if (treatment.kind === 'dropped') expect(document, name).not.toHaveProperty(name);
      if (treatment.kind === 'filtered' && Array.isArray(document[name])) {
        for (const value of treatment.remove) expect(document[name], name).not.toContain(value);
      }
    }
    expect(document.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
    );
    expect(document.request_uri_parameter_supported).toBe(false);
    expect(document.request_parameter_supported).toBe(false);
  });
});

describe('resource servers that find scopegate by discovery', () => {
  let api: Server;
  let apiUrl: string;

  beforeAll(async () => {
    const app = express();
    const verify = auth({ issuerBaseURL: pathed.issuer, audience: LOGIN_RESOURCE });
    app.get('/read', verify, requiredScopes('api:read'), (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/admin', verify, requiredScopes('api:admin'), (_req, res) => {
      res.json({ ok: true });
    });
    api = createServer(app);
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => api.close(() => resolve()));
  });

  /** A client-credentials token obtained with oauth4webapi, which checks the issuer itself. */
  async function token(scope: string): Promise<{ as: oauth.AuthorizationServer; token: string }> {
    const issuer = new URL(pathed.issuer);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }),
    );
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: M2M_CLIENT.client_id },
      oauth.ClientSecretBasic(M2M_CLIENT.client_secret),
      { scope, resource: LOGIN_RESOURCE },
      { [oauth.allowInsecureRequests]: true },
    );
    const result = await oauth.processClientCredentialsResponse(
      as,
      { client_id: M2M_CLIENT.client_id },
      response,
    );
    return { as, token: result.access_token };
  }

  it('express-oauth2-jwt-bearer accepts the ES256 token and enforces requiredScopes', async () => {
    const { token: access } = await token('api:read');
    const headers = { authorization: `Bearer ${access}` };
    expect((await fetch(`${apiUrl}/read`, { headers })).status).toBe(200);
    expect((await fetch(`${apiUrl}/admin`, { headers })).status).toBe(403);
    expect((await fetch(`${apiUrl}/read`)).status).toBe(401);
  });

  it("jose's remote JWKS from the discovered jwks_uri verifies it", async () => {
    const { as, token: access } = await token('api:read api:write');
    const jwks = createRemoteJWKSet(new URL(as.jwks_uri as string));
    const { payload, protectedHeader } = await jwtVerify(access, jwks, {
      issuer: pathed.issuer,
      audience: LOGIN_RESOURCE,
      typ: 'at+jwt',
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.scope).toBe('api:read api:write');
  });

  it("oauth4webapi's validateJwtAccessToken accepts it and refuses a tampered one", async () => {
    const { as, token: access } = await token('api:read');
    const request = (bearer: string) =>
      new Request(`${apiUrl}/read`, { headers: { authorization: `Bearer ${bearer}` } });
    const claims = await oauth.validateJwtAccessToken(as, request(access), LOGIN_RESOURCE, {
      [oauth.allowInsecureRequests]: true,
    });
    expect(claims).toMatchObject({ iss: pathed.issuer, client_id: M2M_CLIENT.client_id });
    const [header, , signature] = access.split('.');
    const widened = Buffer.from(
      JSON.stringify({ ...claims, scope: 'api:read api:admin' }),
    ).toString('base64url');
    await expect(
      oauth.validateJwtAccessToken(
        as,
        request(`${header}.${widened}.${signature}`),
        LOGIN_RESOURCE,
        {
          [oauth.allowInsecureRequests]: true,
        },
      ),
    ).rejects.toThrow();
  });
});
