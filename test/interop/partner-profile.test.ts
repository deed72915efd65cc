/**
 * The partner of the array-scope request (a JWT-bearer integration that demands `"scope": [..]`)
 * end to end: scopegate in front of the Auth0 emulator, the partner's client rule with a token
 * profile (RS256, typ JWT, scope as a JSON array, 5 minutes, two upstream claims carried), and
 * the token verified the way such partners verify: jose, jsonwebtoken + jwks-rsa and
 * fastify-jwt-jwks, each allowed RS256 only, each on a real HTTP server on port 0. Other clients
 * keep the default token (ES256, at+jwt, string scope); RS256 rotates while ES256 stays active.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { fastifyJwtJwks } from 'fastify-jwt-jwks';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import jwksClient from 'jwks-rsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageRoot } from '../../proxy/observability/package-root.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import {
  jwtHeader,
  jwtPayload,
  postForm,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

const ISSUER = 'https://auth.example.com';
const PARTNER_API = 'https://partner-api.example.com';
const OWN_API = 'https://api.example.com';
/** The scopes of the request that asked for an array (seeds/001). */
const PARTNER_GRANTS = [
  'read:appointments',
  'read:prescriptions',
  'create:appointments',
  'delete:appointments',
  'read:msg',
];

/** The README's partner section: its config and the decoded token it shows. */
interface ReadmePartner {
  rule: Record<string, unknown>;
  kids: { es: string; rs: string };
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

async function readmePartner(): Promise<ReadmePartner> {
  const readme = await readFile(path.join(packageRoot(), 'proxy', 'issued', 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Partner token profiles\n');
  expect(start, 'README has a "Partner token profiles" section').toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const yamlBlock = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const jsonBlock = /```json\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const config = parse(yamlBlock) as {
    signing: { keys: Array<{ kid: string; alg: string }> };
    clients: Array<Record<string, unknown>>;
  };
  const [headerLine, ...payloadLines] = jsonBlock.trim().split('\n');
  const kidOf = (alg: string) => config.signing.keys.find((key) => key.alg === alg)?.kid ?? '';
  return {
    rule: config.clients[0] ?? {},
    kids: { es: kidOf('ES256'), rs: kidOf('RS256') },
    header: JSON.parse(headerLine ?? '{}') as Record<string, unknown>,
    payload: JSON.parse(payloadLines.join('')) as Record<string, unknown>,
  };
}

let upstream: RunningAuth0Emulator;
let readme: ReadmePartner;
let gateway: TestGateway;
let resourceServer: FastifyInstance;
let resourceServerUrl: string;

async function token(clientId: string, audience: string, scope: string) {
  const response = await postForm(`${gateway.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: `${clientId}-secret`,
    audience,
    scope,
  });
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body as { access_token: string; expires_in: number; scope: string };
}

/** scopegate's JWKS as resource servers reach it (the issuer's host is the test listener). */
const jwksUrl = () => `${gateway.url}/.well-known/jwks.json`;

beforeAll(async () => {
  readme = await readmePartner();
  upstream = await startAuth0Emulator({
    clients: [
      {
        clientId: 'partner-x',
        clientSecret: 'partner-x-secret',
        grants: { [PARTNER_API]: PARTNER_GRANTS, [OWN_API]: ['read:claims'] },
      },
      { clientId: 'm2m', clientSecret: 'm2m-secret', grants: { [OWN_API]: ['read:claims'] } },
    ],
  });
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    keys: [
      { kid: readme.kids.es, alg: 'ES256', status: 'active' },
      { kid: readme.kids.rs, alg: 'RS256', status: 'active' },
    ],
    // Merged one level deep: default_alg beside the generated keys.
    config: { issuer: ISSUER, signing: { default_alg: 'ES256' }, clients: [readme.rule] },
  });

  // The partner's resource server: fastify-jwt-jwks, which verifies RS256 (and EdDSA) only.
  resourceServer = Fastify();
  await resourceServer.register(fastifyJwtJwks, {
    jwksUrl: jwksUrl(),
    issuer: ISSUER,
    audience: PARTNER_API,
  });
  resourceServer.get(
    '/appointments',
    { preValidation: resourceServer.authenticate },
    async (request) => ({ user: request.user }),
  );
  await resourceServer.listen({ host: '127.0.0.1', port: 0 });
  const address = resourceServer.server.address() as AddressInfo;
  resourceServerUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await resourceServer?.close();
  await gateway?.close();
  await upstream?.close();
});

describe("the seed partner's token", () => {
  it('is RS256, typ JWT, scope a JSON array, 5 minutes, and nothing else carried', async () => {
    const answer = await token('partner-x', PARTNER_API, 'read:appointments read:prescriptions');
    expect(jwtHeader(answer.access_token)).toEqual({
      alg: 'RS256',
      kid: readme.kids.rs,
      typ: 'JWT',
    });
    // Exactly the token the README shows, but for the instants and the jti.
    expect(jwtHeader(answer.access_token)).toEqual(readme.header);
    const claims = jwtPayload(answer.access_token);
    const { iat, exp, jti, ...shown } = readme.payload;
    expect(Object.keys(claims)).toEqual(Object.keys(readme.payload));
    expect(claims).toMatchObject(shown);
    expect((claims.exp as number) - (claims.iat as number)).toBe((exp as number) - (iat as number));
    expect(Object.keys(claims).sort()).toEqual(
      ['aud', 'azp', 'client_id', 'exp', 'gty', 'iat', 'iss', 'jti', 'scope', 'sub'].sort(),
    );
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: 'partner-x@clients',
      aud: PARTNER_API,
      client_id: 'partner-x',
      azp: 'partner-x',
      gty: 'client-credentials',
      scope: ['read:appointments', 'read:prescriptions'],
    });
    // The upstream granted 24 h; the profile allows 5 minutes.
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    expect(answer.expires_in).toBe(300);
    // The token response's scope parameter stays a string (RFC 6749 §5.1).
    expect(answer.scope).toBe('read:appointments read:prescriptions');
  });

  it('verifies with jose (RS256 only, typ JWT) from the JWKS', async () => {
    const answer = await token('partner-x', PARTNER_API, 'read:appointments');
    const { payload, protectedHeader } = await jwtVerify(
      answer.access_token,
      createRemoteJWKSet(new URL(jwksUrl())),
      { issuer: ISSUER, audience: PARTNER_API, algorithms: ['RS256'], typ: 'JWT' },
    );
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.scope).toEqual(['read:appointments']);
  });

  it('verifies with jsonwebtoken + jwks-rsa (RS256 only)', async () => {
    const answer = await token('partner-x', PARTNER_API, 'read:appointments read:msg');
    const client = jwksClient({ jwksUri: jwksUrl(), cache: false });
    const key = await client.getSigningKey(jwtHeader(answer.access_token).kid as string);
    const payload = jwt.verify(answer.access_token, key.getPublicKey(), {
      issuer: ISSUER,
      audience: PARTNER_API,
      algorithms: ['RS256'],
    }) as jwt.JwtPayload;
    expect(payload.scope).toEqual(['read:appointments', 'read:msg']);
  });

  it('is accepted by fastify-jwt-jwks', async () => {
    const answer = await token('partner-x', PARTNER_API, 'read:appointments');
    const response = await fetch(`${resourceServerUrl}/appointments`, {
      headers: { authorization: `Bearer ${answer.access_token}` },
    });
    const body = (await response.json()) as { user: Record<string, unknown> };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.user.scope).toEqual(['read:appointments']);
  });

  it('is what fastify-jwt-jwks needs: the default ES256 token is refused there', async () => {
    const other = await token('m2m', OWN_API, 'read:claims');
    expect(decodeProtectedHeader(other.access_token)).toEqual({
      alg: 'ES256',
      kid: readme.kids.es,
      typ: 'at+jwt',
    });
    expect(jwtPayload(other.access_token).scope).toBe('read:claims');
    const response = await fetch(`${resourceServerUrl}/appointments`, {
      headers: { authorization: `Bearer ${other.access_token}` },
    });
    expect(response.status).toBe(401);
  });

  it('is not what the same client gets for another audience', async () => {
    // The rule names the partner's API: partner-x's tokens for another API are the default ones.
    const elsewhere = await token('partner-x', OWN_API, 'read:claims');
    expect(jwtHeader(elsewhere.access_token)).toEqual({
      alg: 'ES256',
      kid: readme.kids.es,
      typ: 'at+jwt',
    });
    expect(jwtPayload(elsewhere.access_token).scope).toBe('read:claims');
  });
});

describe('keys of several algorithms', () => {
  it('publishes every active and next key, and advertises only the ID-token algorithm', async () => {
    const jwks = (await (await fetch(jwksUrl())).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).toEqual([readme.kids.es, readme.kids.rs]);
    const discovery = (await (
      await fetch(`${gateway.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    // ID tokens are signed by the default key; RS256 signs only the partner's access tokens.
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['ES256']);
  });

  it('rotates the RS256 key while the ES256 key stays active', async () => {
    const before = await token('partner-x', PARTNER_API, 'read:appointments');
    const base = structuredClone(gateway.config) as Record<string, unknown> & {
      signing: { keys: Array<Record<string, unknown>> };
    };
    const es = base.signing.keys.find((key) => key.kid === readme.kids.es);
    const rs1 = base.signing.keys.find((key) => key.kid === readme.kids.rs);
    const rs2 = {
      kid: 'rs-2',
      alg: 'RS256',
      private_key_file: await gateway.addKey({ kid: 'rs-2', alg: 'RS256' }),
    };
    const rotated = (keys: Array<Record<string, unknown>>) => ({
      ...base,
      signing: { keys, default_alg: 'ES256' },
    });
    // Publish: rs-2 next.
    await gateway.writeConfig(rotated([{ ...es }, { ...rs1 }, { ...rs2, status: 'next' }]));
    expect(await gateway.instance.reload()).toBe(true);
    let jwks = (await (await fetch(jwksUrl())).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).toEqual([readme.kids.es, readme.kids.rs, 'rs-2']);
    expect(jwtHeader((await token('partner-x', PARTNER_API, 'read:msg')).access_token).kid).toBe(
      readme.kids.rs,
    );
    // Activate: rs-2 active, the old RS256 key retired (still published), ES256 untouched.
    await gateway.writeConfig(
      rotated([
        { ...es },
        { ...rs1, status: 'retired', publish_until: '2099-01-01T00:00:00Z' },
        { ...rs2, status: 'active' },
      ]),
    );
    expect(await gateway.instance.reload()).toBe(true);
    jwks = (await (await fetch(jwksUrl())).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).toEqual([readme.kids.es, readme.kids.rs, 'rs-2']);
    const after = await token('partner-x', PARTNER_API, 'read:msg');
    expect(jwtHeader(after.access_token)).toEqual({ alg: 'RS256', kid: 'rs-2', typ: 'JWT' });
    expect(jwtHeader((await token('m2m', OWN_API, 'read:claims')).access_token).kid).toBe(
      readme.kids.es,
    );
    // A resource server that cached nothing verifies both the old and the new partner token.
    const keys = createRemoteJWKSet(new URL(jwksUrl()));
    for (const issued of [before, after]) {
      await expect(
        jwtVerify(issued.access_token, keys, {
          issuer: ISSUER,
          audience: PARTNER_API,
          algorithms: ['RS256'],
        }),
      ).resolves.toBeDefined();
    }
    const response = await fetch(`${resourceServerUrl}/appointments`, {
      headers: { authorization: `Bearer ${after.access_token}` },
    });
    expect(response.status).toBe(200);
  });
});
