/**
 * Dynamic scopes against a spec-following upstream (node-oidc-provider): it issues only the
 * scopes it is asked for and silently drops scopes it does not know, such as `accounts.read.1234`.
 * With `scope_request: templates` the gateway asks for the configured templates that cover the
 * requested concrete scopes (`accounts.*`) and issues the concrete scopes from what comes back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OidcUpstream, startOidcUpstream } from '../fixtures/oidc-upstream.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

const RESOURCE_SCOPES = 'accounts.* clients.* reports.read';

let upstream: OidcUpstream;
let templates: TestGateway;
let forward: TestGateway;
/** The scope parameter of every token request that reached the upstream, oldest first. */
const asked: Array<string | undefined> = [];

const SCOPES = [
  // listed so that `templates` mode knows to ask for it; no rules of its own
  { template: 'accounts.*' },
  { template: 'accounts.*.*', params: [{ enum: ['read', 'list'] }, { pattern: '[0-9]{1,12}' }] },
  // oidc-provider puts the client id in `client_id`
  { template: 'clients.*', params: [{ claim: 'client_id' }] },
];

beforeAll(async () => {
  upstream = await startOidcUpstream({
    resourceScopes: RESOURCE_SCOPES,
    clients: [
      {
        client_id: 'cc-client',
        client_secret: 'cc-secret',
        scope: RESOURCE_SCOPES,
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
  });
  upstream.provider.on('grant.success', (...args: unknown[]) => {
    const ctx = args[0] as { oidc?: { params?: { scope?: unknown } } } | undefined;
    const scope = ctx?.oidc?.params?.scope;
    asked.push(typeof scope === 'string' ? scope : undefined);
  });
  const base = { upstreamUrl: upstream.url, tokenPath: upstream.tokenPath };
  templates = await startTestGateway({
    ...base,
    scopeRequest: 'templates',
    config: { scopes: SCOPES },
  });
  forward = await startTestGateway({
    ...base,
    scopeRequest: 'forward',
    config: { scopes: SCOPES },
  });
});

afterAll(async () => {
  await templates?.close();
  await forward?.close();
  await upstream?.close();
});

async function token(scope: string | undefined, target: TestGateway = templates) {
  const response = await postForm(`${target.url}${upstream.tokenPath}`, {
    grant_type: 'client_credentials',
    client_id: 'cc-client',
    client_secret: 'cc-secret',
    ...(scope === undefined ? {} : { scope }),
  });
  return readTokenAnswer(response);
}

describe('scope_request: templates against oidc-provider', () => {
  it('asks for the covering templates once and issues the concrete scopes', async () => {
    const answer = await token('accounts.read.1234 accounts.list.55 reports.read');
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('accounts.read.1234 accounts.list.55 reports.read');
    expect(answer.claims?.scope).toBe('accounts.read.1234 accounts.list.55 reports.read');
    expect(answer.claims?.iss).toBe('https://gateway.test');
    // deduplicated: accounts.* (and accounts.*.*, which the provider does not know and drops)
    expect(asked.at(-1)).toBe('accounts.* accounts.*.* reports.read');
  });

  it('validates the parameters of the concrete scopes', async () => {
    const refused = await token('accounts.write.1 accounts.read.x1');
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      error: 'invalid_scope',
      error_description: 'the requested scope is not permitted: accounts.write.1 accounts.read.x1',
    });
    expect((await token('clients.cc-client')).claims?.scope).toBe('clients.cc-client');
    expect((await token('clients.someone-else')).status).toBe(400);
  });

  it('refuses a concrete scope the upstream did not grant a template for', async () => {
    const answer = await token('reports.read billing.read.1');
    expect(answer.status).toBe(400);
    expect(answer.body.error_description).toBe(
      'the requested scope is not permitted: billing.read.1',
    );
    expect(asked.at(-1)).toBe('reports.read billing.read.1');
  });

  it('cannot issue a concrete scope when the template is not asked for (forward mode)', async () => {
    // forwarded as is, the provider drops the unknown accounts.read.1 and grants only reports.read
    const answer = await token('accounts.read.1 reports.read', forward);
    expect(asked.at(-1)).toBe('accounts.read.1 reports.read');
    expect(answer.status).toBe(400);
    expect(answer.body.error_description).toBe(
      'the requested scope is not permitted: accounts.read.1',
    );
  });
});
