/**
 * Where the token endpoint is: from the upstream discovery document when `upstream.token_path`
 * is not set; a configured path that disagrees with discovery stops `serve` and `check`, naming
 * both; an upstream whose discovery cannot be fetched still works with an explicit path.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OidcUpstream, startOidcUpstream } from '../fixtures/oidc-upstream.js';
import { CLI_PATH } from '../support/cli-process.js';
import { closedPortUrl } from '../support/closed-port.js';
import {
  jwtHeader,
  postForm,
  prepareTestConfig,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import {
  RAW_UPSTREAM_TOKEN,
  type RecordingUpstream,
  startRecordingUpstream,
} from './recording-upstream.js';

const run = promisify(execFile);
const CC = { authorization: `Basic ${Buffer.from('cc-client:cc-secret').toString('base64')}` };

/** `scopegate check` on a config for `upstreamUrl` (token_path unset unless given). */
async function check(upstreamUrl: string, tokenPath?: string) {
  const prepared = await prepareTestConfig({
    upstreamUrl,
    config: { upstream: { url: upstreamUrl, timeout: '2s', token_path: tokenPath } },
  });
  try {
    const { stdout } = await run(
      process.execPath,
      [CLI_PATH, 'check', '--config', prepared.configFile],
      {
        timeout: 20_000,
      },
    );
    return { code: 0, output: stdout };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: `${failure.stdout}${failure.stderr}` };
  } finally {
    await prepared.remove();
  }
}

/** A gateway with token_path unset unless given (the helper's default is removed). */
function gatewayFor(upstreamUrl: string, tokenPath?: string) {
  return startTestGateway({
    upstreamUrl,
    config: { upstream: { url: upstreamUrl, timeout: '2s', token_path: tokenPath } },
  });
}

let oidc: OidcUpstream;
let recorder: RecordingUpstream;
let discovered: TestGateway;

beforeAll(async () => {
  [oidc, recorder] = await Promise.all([
    startOidcUpstream(),
    startRecordingUpstream({ tokenPath: '/token' }),
  ]);
  discovered = await gatewayFor(oidc.url);
});

afterAll(async () => {
  await discovered?.close();
  await Promise.all([oidc?.close(), recorder?.close()]);
});

describe('token endpoint from upstream discovery', () => {
  it("intercepts oidc-provider's /token when token_path is not set", async () => {
    expect(oidc.tokenPath).toBe('/token');
    const answer = await readTokenAnswer(
      await postForm(
        `${discovered.url}/token`,
        { grant_type: 'client_credentials', scope: 'api:read' },
        CC,
      ),
    );
    expect(answer.status).toBe(200);
    // scopegate's key signed it, not the upstream's RS256 key.
    expect(jwtHeader(answer.body.access_token as string)).toMatchObject({
      alg: 'ES256',
      kid: 'test-key',
    });
    expect(answer.claims?.iss).toBe('https://gateway.test');
  });

  it('advertises the endpoint it intercepts', async () => {
    const document = (await (
      await fetch(`${discovered.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(document.token_endpoint).toBe('https://gateway.test/token');
  });

  it('takes every method on the discovered path (GET is not proxied to the upstream)', async () => {
    const before = recorder.requests.length;
    const gateway = await gatewayFor(recorder.url);
    try {
      const response = await fetch(`${gateway.url}/token?grant_type=client_credentials`);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST, OPTIONS');
      // Start-up fetched discovery (and key warm-up the JWKS); nothing reached /token.
      const reached = recorder.requests.slice(before).map((request) => request.target);
      expect(reached).toContain('/.well-known/openid-configuration');
      expect(reached.filter((target) => target.startsWith('/token'))).toEqual([]);
      const posted = await postForm(`${gateway.url}/token`, { grant_type: 'client_credentials' });
      const text = await posted.text();
      expect(posted.status).toBe(502);
      expect(text).not.toContain(RAW_UPSTREAM_TOKEN);
    } finally {
      await gateway.close();
    }
  });
});

describe('a configured token_path that disagrees with discovery', () => {
  it('stops serve, naming both', async () => {
    await expect(gatewayFor(oidc.url, '/oauth/token')).rejects.toThrow(
      `upstream.token_path "/oauth/token" disagrees with the upstream discovery token_endpoint "${oidc.url}/token"`,
    );
  });

  it('fails check, naming both', async () => {
    const result = await check(oidc.url, '/oauth/token');
    expect(result.code).toBe(1);
    expect(result.output).toContain('upstream.token_path "/oauth/token"');
    expect(result.output).toContain(`token_endpoint "${oidc.url}/token"`);
  });

  it('accepts the same path spelled with a trailing slash', async () => {
    const result = await check(oidc.url, '/token/');
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(
      'token endpoint: /token/ (upstream.token_path, matches upstream discovery)',
    );
  });

  it('refuses a discovery token_endpoint on another origin', async () => {
    const elsewhere = await startRecordingUpstream({
      discovery: { token_endpoint: 'https://other.example/oauth/token' },
    });
    try {
      await expect(gatewayFor(elsewhere.url)).rejects.toThrow(
        `the upstream discovery token_endpoint "https://other.example/oauth/token" is not on upstream.url's origin "${elsewhere.url}"`,
      );
    } finally {
      await elsewhere.close();
    }
  });
});

describe('an upstream whose discovery cannot be fetched', () => {
  it('serves with an explicit token_path', async () => {
    const down = await closedPortUrl();
    const gateway = await gatewayFor(down, '/oauth/token');
    try {
      const response = await fetch(`${gateway.url}/oauth/token`, { method: 'DELETE' });
      expect(response.status).toBe(405);
    } finally {
      await gateway.close();
    }
    const result = await check(down, '/oauth/token');
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(
      'token endpoint: /oauth/token (upstream.token_path; the upstream discovery document',
    );
  });

  it('refuses to serve or check without one', async () => {
    const down = await closedPortUrl();
    await expect(gatewayFor(down)).rejects.toThrow(
      `upstream.token_path is not set and the upstream discovery document ${down}/.well-known/openid-configuration could not be fetched`,
    );
    const result = await check(down);
    expect(result.code).toBe(1);
    expect(result.output).toContain('upstream.token_path is not set');
  });
});

describe('endpoints the upstream names below its token path', () => {
  it('proxies exactly the revocation endpoint its discovery names, and refuses other sub-paths', async () => {
    // oidc-provider and Keycloak put revocation and introspection below the token path.
    const upstream = await startRecordingUpstream({
      tokenPath: '/token',
      discovery: (url) => ({ revocation_endpoint: `${url}/token/revocation` }),
    });
    const gateway = await gatewayFor(upstream.url);
    try {
      const revocation = await postForm(`${gateway.url}/token/revocation`, {
        token: 'x',
        client_id: 'c',
      });
      // Served by scopegate: the upstream's 200 becomes RFC 7009's, with an empty body.
      expect(revocation.status).toBe(200);
      expect(await revocation.text()).toBe('');
      for (const path of ['/token/revocation/x', '/token/revocation.json', '/token/other']) {
        const response = await postForm(`${gateway.url}${path}`, { token: 'x' });
        expect(response.status, path).toBe(404);
      }
      const reached = upstream.requests.map((request) => request.target);
      expect(reached.filter((target) => target.startsWith('/token'))).toEqual([
        '/token/revocation',
      ]);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
