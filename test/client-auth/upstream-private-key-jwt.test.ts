/**
 * scopegate authenticating to the upstream with an assertion of its own
 * (`upstream_auth: private_key_jwt`): oidc-provider registers the client with scopegate's public
 * key only, so a token is issued only if scopegate's assertion is what reached it, never the
 * client's. The same client authenticates with its assertion at scopegate's introspection and
 * revocation endpoints, which call the upstream with scopegate's assertion too.
 */
import { createPublicKey, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateKeyPem } from '../../proxy/keys/key-material.js';
import { type OidcUpstream, startOidcUpstream } from '../fixtures/oidc-upstream.js';
import { jwtPayload, postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import {
  assertionClaims,
  type ClientKey,
  clientKey,
  JWT_BEARER,
  oauthError,
  postWithAssertion,
  signAssertion,
} from './client-auth-harness.js';

const CLIENT = 'signed-client';
const ISSUER = 'https://gateway.test';

let dir: string;
let upstream: OidcUpstream;
let gateway: TestGateway;
let key: ClientKey;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-upstream-assertion-'));
  const pem = generatePrivateKeyPem('ES256');
  const keyFile = path.join(dir, 'upstream-assertion.pem');
  await writeFile(keyFile, pem, { mode: 0o600 });
  const scopegatePublic = {
    ...(createPublicKey(pem).export({ format: 'jwk' }) as Record<string, unknown>),
    kid: 'scopegate-for-signed-client',
    alg: 'ES256',
    use: 'sig',
  };
  key = await clientKey('client-own');
  upstream = await startOidcUpstream({
    introspection: true,
    revocation: true,
    clients: [
      {
        client_id: CLIENT,
        // Required by the fixture's type; oidc-provider ignores it for private_key_jwt.
        client_secret: randomUUID(),
        scope: 'api:read api:write',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [scopegatePublic] },
      },
    ],
  });
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    tokenPath: upstream.tokenPath,
    config: {
      clients: [
        {
          client_id: CLIENT,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [key.publicJwk] },
          upstream_auth: {
            method: 'private_key_jwt',
            key_file: keyFile,
            kid: 'scopegate-for-signed-client',
            alg: 'ES256',
          },
        },
      ],
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

async function assertionParams(): Promise<Record<string, string>> {
  return {
    client_assertion_type: JWT_BEARER,
    client_assertion: await signAssertion(assertionClaims(CLIENT, ISSUER), key),
  };
}

async function issue(): Promise<string> {
  const response = await postWithAssertion(
    `${gateway.url}${upstream.tokenPath}`,
    await signAssertion(assertionClaims(CLIENT, ISSUER), key),
    { scope: 'api:read' },
  );
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.access_token as string;
}

async function introspect(token: string, auth: Record<string, string>) {
  return postForm(`${gateway.url}/token/introspection`, { token, ...auth });
}

describe("scopegate's own assertion at oidc-provider", () => {
  it('is accepted: the token is issued for the client the client authenticated as', async () => {
    const token = await issue();
    expect(jwtPayload(token)).toMatchObject({ iss: ISSUER, client_id: CLIENT, scope: 'api:read' });
  });
});

describe('introspection and revocation through scopegate', () => {
  it('authenticate the client by its assertion and the upstream by scopegate’s', async () => {
    const token = await issue();
    const active = await introspect(token, await assertionParams());
    expect(active.status).toBe(200);
    expect(await active.json()).toMatchObject({ active: true, client_id: CLIENT });

    const revoked = await postForm(`${gateway.url}/token/revocation`, {
      token,
      ...(await assertionParams()),
    });
    expect(revoked.status).toBe(200);
    const after = await introspect(token, await assertionParams());
    expect(await after.json()).toEqual({ active: false });
  });

  it('refuse the client without its assertion, and a replayed one', async () => {
    const token = await issue();
    const bare = await oauthError(await introspect(token, { client_id: CLIENT }));
    expect(bare).toMatchObject({ status: 401, error: 'invalid_client' });
    const once = await assertionParams();
    expect((await introspect(token, once)).status).toBe(200);
    const replayed = await oauthError(
      await postForm(`${gateway.url}/token/revocation`, { token, ...once }),
    );
    expect(replayed).toMatchObject({ status: 401, error: 'invalid_client' });
  });
});
