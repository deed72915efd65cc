import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAuth0Emulator, startAuth0Emulator } from '../../proxy/demo/auth0-emulator.js';
import {
  jwtHeader,
  jwtPayload,
  postForm,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

const API = 'https://api.example.com';
let upstream: RunningAuth0Emulator;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [
      {
        clientId: 'm2m',
        clientSecret: 'm2m-secret',
        grants: { [API]: ['read:claims', 'write:claims', 'read:reports'] },
      },
    ],
    defaultAudience: API,
  });
  gateway = await startTestGateway({ upstreamUrl: upstream.url, scopeRequest: 'omit' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('Auth0 client credentials through scopegate (seeds/000)', () => {
  it('issues only the requested subset, signed by scopegate', async () => {
    const response = await postForm(`${gateway.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: 'm2m',
      client_secret: 'm2m-secret',
      audience: API,
      scope: 'read:claims',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.scope).toBe('read:claims');
    const token = body.access_token as string;
    expect(jwtHeader(token)).toMatchObject({ alg: 'ES256', kid: 'test-key', typ: 'at+jwt' });
    const claims = jwtPayload(token);
    expect(claims).toMatchObject({
      iss: 'https://gateway.test',
      scope: 'read:claims',
      client_id: 'm2m',
      aud: API,
      permissions: ['read:claims'],
    });
    // scope_request: omit — the upstream was asked for nothing.
    expect(upstream.tokenRequests().at(-1)?.params.scope).toBeUndefined();
  });
});
