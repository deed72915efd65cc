/**
 * Step "forward": the token request reaches the upstream token endpoint (the resolved token
 * path, below the upstream's base) as application/x-www-form-urlencoded whatever the client sent,
 * with the scope scopegate asks for, client authentication as received, and none of the client's
 * framing or forwarding headers; an upstream that cannot be reached or answer in time is an OAuth
 * error.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { forwardTokenRequest } from '../../proxy/endpoints/token/forward-upstream.js';
import type { TokenRequest } from '../../proxy/endpoints/token/token-request.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';
import { TrustedProxies } from '../../proxy/http/trusted-proxies.js';
import type { Runtime } from '../../proxy/runtime/runtime.js';
import { closedPortUrl } from '../support/closed-port.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let upstreamUrl = '';
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      if (req.url?.includes('slow')) return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"access_token":"x"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function runtimeFor(url: string, tokenPath: string, extra = ''): Runtime {
  const parsed = parseConfigText(
    `issuer: "https://auth.example.com"
upstream:
  url: "${url}"
  token_path: "${tokenPath}"
  timeout: "300ms"
${extra}
signing:
  keys:
    - { kid: k1, alg: ES256, private_key_file: unused.pem }
clients:
  - client_id: needs-scope
    upstream_scope: "read:all"
`,
    'cfg.yaml',
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  // forwardTokenRequest reads only these members of a runtime generation.
  const partial: Pick<Runtime, 'config' | 'scopeTemplates' | 'tokenPath' | 'trustedProxies'> = {
    config: parsed.config,
    scopeTemplates: [],
    tokenPath,
    trustedProxies: new TrustedProxies([]),
  };
  return partial as Runtime;
}

function clientRequest(headers: Record<string, string>): IncomingMessage {
  return {
    headers,
    socket: { remoteAddress: '127.0.0.1', remotePort: 5000 },
  } as unknown as IncomingMessage;
}

function tokenRequest(
  params: Record<string, string>,
  overrides: Partial<TokenRequest> = {},
): TokenRequest {
  return {
    body: { kind: 'json', params: new Map(Object.entries(params)), resources: [] },
    grantType: params.grant_type,
    requestedScopes: params.scope?.split(' '),
    audiences: [],
    clientIdHint: params.client_id,
    ...overrides,
  };
}

async function forwarded(
  runtime: Runtime,
  request: TokenRequest,
  headers: Record<string, string> = {},
): Promise<Received> {
  const before = received.length;
  await forwardTokenRequest(clientRequest(headers), request, runtime, 'req-7');
  const seen = received[before];
  if (!seen) throw new Error('the upstream received nothing');
  return seen;
}

describe('forwardTokenRequest', () => {
  it('posts a JSON request as a form to the token path below the base, with the scope asked', async () => {
    const runtime = runtimeFor(`${upstreamUrl}/realms/acme`, '/realms/acme/protocol/token');
    const seen = await forwarded(
      runtime,
      tokenRequest({ grant_type: 'client_credentials', client_id: 'c', scope: 'a b' }),
      {
        'content-type': 'application/json',
        'content-length': '999',
        'content-encoding': 'identity',
        authorization: 'Basic YzpzZWNyZXQ=',
        'x-forwarded-for': '203.0.113.9',
        'x-request-id': 'client-chosen',
      },
    );
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/realms/acme/protocol/token');
    expect(seen.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(seen.body)));
    expect(seen.headers.authorization).toBe('Basic YzpzZWNyZXQ=');
    expect(seen.headers['x-request-id']).toBe('req-7');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['content-encoding']).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(seen.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'c',
      scope: 'a b',
    });
  });

  it.each<[string, string, Record<string, string>, string | undefined]>([
    ['forward, nothing requested', 'scope_request: forward', { client_id: 'c' }, undefined],
    ['omit drops the scope', 'scope_request: omit', { client_id: 'c', scope: 'a' }, undefined],
    [
      "omit asks for the client's upstream_scope",
      'scope_request: omit',
      { client_id: 'needs-scope', scope: 'a' },
      'read:all',
    ],
    [
      'the default scope when nothing is requested',
      'scope_request: forward\n  default_scope: "openid base"',
      { client_id: 'c' },
      'openid base',
    ],
  ])('%s', async (_what, setting, params, scope) => {
    const runtime = runtimeFor(upstreamUrl, '/token', `  ${setting}`);
    const seen = await forwarded(
      runtime,
      tokenRequest({ grant_type: 'client_credentials', ...params }),
    );
    expect(new URLSearchParams(seen.body).get('scope') ?? undefined).toBe(scope);
  });

  it('turns an unreachable or silent upstream into OAuth errors', async () => {
    const request = tokenRequest({ grant_type: 'client_credentials' });
    const refusal = async (runtime: Runtime) => {
      try {
        await forwardTokenRequest(clientRequest({}), request, runtime, 'req-8');
      } catch (error) {
        return error;
      }
      throw new Error('expected an error');
    };
    const down = await refusal(runtimeFor(await closedPortUrl(), '/token'));
    expect(down).toBeInstanceOf(OAuthError);
    expect((down as OAuthError).status).toBe(502);
    expect((down as OAuthError).kind).toBe('upstream_unavailable');
    const slow = await refusal(runtimeFor(upstreamUrl, '/slow'));
    expect((slow as OAuthError).status).toBe(504);
  });
});
