/**
 * Grant-type policies through the gateway: the same scope is allowed for a machine client
 * (client credentials) and refused for a token a user obtained (authorization code). Neither
 * upstream fixture runs an authorization-code flow, so a tiny IdP here (node:http and jose)
 * answers both grants, marking its tokens with Auth0's `gty` claim the way Auth0 does, and a
 * third grant with no `gty` at all (the gateway then falls back to the request's grant_type).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

const API = 'https://api.example.com';
const GRANTED = 'payments.* profile.read';
const GTY: Record<string, string | undefined> = {
  client_credentials: 'client-credentials',
  authorization_code: 'authorization-code',
  refresh_token: undefined,
};

interface TinyIdp {
  url: string;
  close(): Promise<void>;
}

async function startTinyIdp(): Promise<TinyIdp> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'tiny', alg: 'ES256', use: 'sig' };
  let issuer = '';
  const sign = (key: CryptoKey, claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'tiny', typ: 'at+jwt' }).sign(key);
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      send(200, { issuer, jwks_uri: `${issuer}/jwks`, token_endpoint: `${issuer}/oauth/token` });
      return;
    }
    if (req.url === '/jwks') {
      send(200, { keys: [jwk] });
      return;
    }
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    req.on('end', () => {
      const params = new URLSearchParams(text);
      const grantType = params.get('grant_type') ?? '';
      if (!(grantType in GTY)) {
        send(400, { error: 'unsupported_grant_type' });
        return;
      }
      const now = Math.floor(Date.now() / 1000);
      const gty = GTY[grantType];
      // Like Auth0: every granted scope, whatever was asked for.
      void sign(privateKey, {
        iss: issuer,
        sub: grantType === 'client_credentials' ? 'machine@clients' : 'auth0|user-1',
        aud: API,
        azp: params.get('client_id') ?? 'unknown',
        iat: now,
        exp: now + 600,
        scope: GRANTED,
        ...(gty ? { gty } : {}),
      }).then((token) => send(200, { access_token: token, token_type: 'Bearer', expires_in: 600 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let idp: TinyIdp;
let gateway: TestGateway;

beforeAll(async () => {
  idp = await startTinyIdp();
  gateway = await startTestGateway({
    upstreamUrl: idp.url,
    scopeRequest: 'omit',
    config: {
      scopes: [
        // payments for machine users only; profile for human users only
        { template: 'payments.*', grant_types: ['client_credentials'] },
        { template: 'profile.read', grant_types: ['authorization_code', 'refresh_token'] },
      ],
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await idp?.close();
});

async function token(grantType: string, scope?: string) {
  const response = await postForm(`${gateway.url}/oauth/token`, {
    grant_type: grantType,
    client_id: 'app',
    client_secret: 'secret',
    ...(grantType === 'authorization_code' ? { code: 'c0de', redirect_uri: 'https://app/cb' } : {}),
    ...(grantType === 'refresh_token' ? { refresh_token: 'r' } : {}),
    ...(scope === undefined ? {} : { scope }),
  });
  return readTokenAnswer(response);
}

describe('grant-type policies', () => {
  it('allows a machine-only scope for a client-credentials token', async () => {
    const answer = await token('client_credentials', 'payments.p-1');
    expect(answer.status).toBe(200);
    expect(answer.claims?.scope).toBe('payments.p-1');
  });

  it('refuses the same scope for an authorization-code token', async () => {
    const answer = await token('authorization_code', 'payments.p-1');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'invalid_scope',
      error_description: 'the requested scope is not permitted: payments.p-1',
    });
    const human = await token('authorization_code', 'profile.read');
    expect(human.claims?.scope).toBe('profile.read');
    expect((await token('client_credentials', 'profile.read')).status).toBe(400);
  });

  it('withholds what the grant may not have when nothing is requested', async () => {
    expect((await token('authorization_code')).claims?.scope).toBe('profile.read');
    expect((await token('client_credentials')).claims?.scope).toBe('payments.*');
  });

  it('uses the request grant type when the token carries none', async () => {
    expect((await token('refresh_token', 'profile.read')).status).toBe(200);
    expect((await token('refresh_token', 'payments.p-1')).status).toBe(400);
  });
});
