/**
 * Opaque upstream tokens (RFC 7662) in front of node-oidc-provider issuing random-string access
 * tokens with introspection enabled: scopegate introspects with its own client credentials
 * (a secret file, or inline), in JSON or signed (RFC 9701) form, and the client only ever gets
 * scopegate's JWT. Token exchange accepts the opaque token as a subject the same way.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, exchange } from '../exchange/exchange-support.js';
import { type OidcUpstream, startOidcUpstream } from '../fixtures/oidc-upstream.js';
import {
  jwtHeader,
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

const CC = { authorization: basic('cc-client', 'cc-secret') };
const CLIENTS = [
  { client_id: 'cc-client', client_secret: 'cc-secret', scope: 'api:read api:write' },
  // scopegate's own registration at the upstream: it only introspects.
  { client_id: 'scopegate', client_secret: 'introspector-secret', scope: 'openid' },
];

let signing: OidcUpstream; // introspection answers in JWT form when asked
let plain: OidcUpstream; // JSON answers only
let secretDir: string;
const gateways: Record<string, TestGateway> = {};

function introspection(extra: Record<string, unknown>) {
  return { client_id: 'scopegate', client_secret: 'introspector-secret', ...extra };
}

beforeAll(async () => {
  [signing, plain] = await Promise.all([
    startOidcUpstream({ accessTokenFormat: 'opaque', jwtIntrospection: true, clients: CLIENTS }),
    startOidcUpstream({ accessTokenFormat: 'opaque', introspection: true, clients: CLIENTS }),
  ]);
  secretDir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-secret-'));
  const secretFile = path.join(secretDir, 'introspection-secret');
  await writeFile(secretFile, 'introspector-secret\n', { mode: 0o600 });
  const start = (name: string, upstream: OidcUpstream, upstreamConfig: Record<string, unknown>) =>
    startTestGateway({
      upstreamUrl: upstream.url,
      tokenPath: upstream.tokenPath,
      config: {
        upstream: { url: upstream.url, token_path: upstream.tokenPath, ...upstreamConfig },
      },
    }).then((gateway) => {
      gateways[name] = gateway;
    });
  await Promise.all([
    // Endpoint from discovery, secret from a file, JSON answers.
    start('json', plain, {
      token_format: 'opaque',
      introspection: {
        client_id: 'scopegate',
        client_secret_file: secretFile,
        jwt_response: 'never',
      },
    }),
    // Configured endpoint, client_secret_post, signed answers required.
    start('signed', signing, {
      token_format: 'auto',
      introspection: introspection({
        endpoint: signing.introspectionEndpoint,
        auth_method: 'client_secret_post',
        jwt_response: 'require',
      }),
    }),
    start('signedRequiredButPlain', plain, {
      token_format: 'opaque',
      introspection: introspection({ jwt_response: 'require' }),
    }),
    start('wrongSecret', plain, {
      token_format: 'opaque',
      introspection: introspection({ client_secret: 'not-the-secret' }),
    }),
    // Today's default: an opaque token is not a JWT, refused.
    start('jwtOnly', plain, {}),
  ]);
});

afterAll(async () => {
  await Promise.all(Object.values(gateways).map((gateway) => gateway.close()));
  await Promise.all([signing?.close(), plain?.close()]);
  if (secretDir) await rm(secretDir, { recursive: true, force: true });
});

async function tokenThrough(name: string, upstream: OidcUpstream, scope: string) {
  const gateway = gateways[name] as TestGateway;
  const response = await postForm(
    `${gateway.url}${upstream.tokenPath}`,
    { grant_type: 'client_credentials', scope },
    CC,
  );
  const text = await response.clone().text();
  return { ...(await readTokenAnswer(response)), text };
}

describe('opaque upstream tokens', () => {
  it.each([
    ['json', 'JSON answers, endpoint from discovery, secret file'],
    ['signed', 'signed answers (RFC 9701), configured endpoint, client_secret_post'],
  ])('re-issues an introspected token as a scopegate JWT (%s: %s)', async (name) => {
    const upstream = name === 'json' ? plain : signing;
    const answer = await tokenThrough(name, upstream, 'api:read');
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual([
      'access_token',
      'expires_in',
      'scope',
      'token_type',
    ]);
    expect(jwtHeader(answer.body.access_token as string)).toMatchObject({ typ: 'at+jwt' });
    const now = Math.floor(Date.now() / 1000);
    expect(answer.claims).toMatchObject({
      iss: 'https://gateway.test',
      client_id: 'cc-client',
      sub: 'cc-client',
      aud: upstream.resource,
      scope: 'api:read',
    });
    expect(answer.claims).not.toHaveProperty('active');
    expect(answer.claims).not.toHaveProperty('token_type');
    expect(answer.claims?.exp as number).toBeLessThanOrEqual(now + 3600);
  });

  it('refuses an unsigned introspection answer when signed ones are required', async () => {
    const answer = await tokenThrough('signedRequiredButPlain', plain, 'api:read');
    expect(answer.status).toBe(502);
    expect(answer.body).toEqual({
      error: 'server_error',
      error_description: 'the upstream introspection answer is not signed (jwt_response: require)',
    });
  });

  it('fails closed when the upstream refuses scopegate at its introspection endpoint', async () => {
    const answer = await tokenThrough('wrongSecret', plain, 'api:read');
    expect(answer.status).toBe(502);
    expect(answer.body.error).toBe('server_error');
    expect(answer.body.access_token).toBeUndefined();
  });

  it('keeps refusing opaque tokens with token_format jwt (the default)', async () => {
    const answer = await tokenThrough('jwtOnly', plain, 'api:read');
    expect(answer.status).toBe(502);
    expect(answer.body.error).toBe('server_error');
    expect(answer.body.access_token).toBeUndefined();
  });

  it('exchanges an opaque upstream token, introspected like at the token endpoint', async () => {
    // The upstream's own answer: its access token is opaque, not a JWT to decode.
    const direct = (await (
      await postForm(
        plain.tokenEndpoint,
        { grant_type: 'client_credentials', scope: 'api:read api:write' },
        CC,
      )
    ).json()) as { access_token: string };
    const opaque = direct.access_token;
    expect(opaque.split('.')).toHaveLength(1);
    const gateway = gateways.json as TestGateway;
    const answer = await exchange(gateway, plain.tokenPath, opaque, { scope: 'api:write' });
    expect(answer.status).toBe(200);
    expect(answer.claims).toMatchObject({ client_id: 'cc-client', scope: 'api:write' });
    expect(JSON.stringify(answer.body)).not.toContain(opaque);
    const unknown = await exchange(gateway, plain.tokenPath, 'no-such-token', {});
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({
      error: 'invalid_request',
      error_description: 'the subject_token is not valid: introspection: token not active',
    });
  });
});
