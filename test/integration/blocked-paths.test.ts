/**
 * `upstream.blocked_paths`: upstream endpoints that must never be reached through scopegate
 * (another endpoint that issues tokens, say), however the path is spelled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { rawMessage, rawRequest } from '../support/raw-http.js';

let upstream: RunningAuth0Emulator;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [{ clientId: 'm2m', clientSecret: 's', grants: { api: ['a'] } }],
    defaultAudience: 'api',
  });
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    config: { upstream: { url: upstream.url, timeout: '2s', blocked_paths: ['/api/echo/legacy'] } },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('blocked upstream paths', () => {
  it.each([
    '/api/echo/legacy',
    '/api/echo/legacy/',
    '/api/echo/legacy/deeper?x=1',
    '/API/Echo/Legacy',
    '/api/echo/x/../legacy',
    '/api/echo/%6cegacy',
    '//api//echo//legacy',
  ])('answers %s with 404 and never proxies it', async (target) => {
    const answer = await rawRequest(gateway.url, rawMessage('GET', target));
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toEqual({
      error: 'not_found',
      error_description: 'this path is not served',
    });
  });

  it('still proxies neighbouring paths', async () => {
    for (const path of ['/api/echo/legacyish', '/api/echo/other']) {
      const response = await fetch(`${gateway.url}${path}`);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { path: string }).path).toBe(path);
    }
  });

  it("never blocks scopegate's own documents", async () => {
    const response = await fetch(`${gateway.url}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
  });
});
