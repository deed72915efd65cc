/**
 * Dynamic scopes and governance through the gateway, with the Auth0 emulator upstream: it grants
 * every scope of the client (templates included) whatever is asked, so the gateway asks for
 * nothing (`scope_request: omit`) and decides from the verified token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
  type TokenAnswer,
} from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';

const API = 'https://api.example.com';
const GRANTED = ['accounts.*', 'clients.*', 'admin.*', 'reports.*.*', 'read:claims'];

const SCOPES = [
  {
    template: 'accounts.*.*',
    grant_types: ['client_credentials'],
    params: [{ enum: ['read', 'list'] }, { pattern: '^[0-9]{1,12}$' }],
  },
  // `azp` is the client id in Auth0 tokens: a client may only ask about itself.
  { template: 'clients.*', params: [{ claim: 'azp' }] },
  { template: 'admin.*', clients: ['ops'] },
];

let upstream: RunningAuth0Emulator;
let gateway: TestGateway;
let dropping: TestGateway;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [
      { clientId: 'm2m', clientSecret: 'm2m-secret', grants: { [API]: GRANTED } },
      { clientId: 'ops', clientSecret: 'ops-secret', grants: { [API]: ['admin.*'] } },
    ],
    defaultAudience: API,
  });
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    config: { scopes: SCOPES },
  });
  dropping = await startTestGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    config: { scopes: SCOPES, tokens: { on_unauthorized_scope: 'drop' } },
  });
});

afterAll(async () => {
  await gateway?.close();
  await dropping?.close();
  await upstream?.close();
});

async function token(
  scope: string | undefined,
  client: [string, string] = ['m2m', 'm2m-secret'],
  target: TestGateway = gateway,
): Promise<TokenAnswer> {
  const response = await postForm(`${target.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: client[0],
    client_secret: client[1],
    audience: API,
    ...(scope === undefined ? {} : { scope }),
  });
  return readTokenAnswer(response);
}

function expectRefused(answer: TokenAnswer, refused: string): void {
  expect(answer.status).toBe(400);
  expect(answer.body).toEqual({
    error: 'invalid_scope',
    error_description: `the requested scope is not permitted: ${refused}`,
  });
}

describe('grants by template (Auth0 emulator, scope_request: omit)', () => {
  it('issues the concrete scopes a granted template covers, never the template', async () => {
    const answer = await token('accounts.read.1234 accounts.list.99 read:claims');
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('accounts.read.1234 accounts.list.99 read:claims');
    expect(answer.claims?.scope).toBe('accounts.read.1234 accounts.list.99 read:claims');
    expect(JSON.stringify(answer.claims)).not.toContain('accounts.*');
    expect(upstream.tokenRequests().at(-1)?.params.scope).toBeUndefined();
  });

  it('issues a template only when the template itself is requested', async () => {
    const answer = await token('reports.*.*');
    expect(answer.status).toBe(200);
    expect(answer.claims?.scope).toBe('reports.*.*');
    // a narrower template is covered too
    expect((await token('reports.daily.*')).claims?.scope).toBe('reports.daily.*');
  });

  it('issues every granted scope a policy does not withhold when nothing is requested', async () => {
    const before = await scrape(gateway.adminUrl);
    const answer = await token(undefined);
    expect(answer.status).toBe(200);
    // accounts.*, clients.* and admin.* stand for scopes whose policies they cannot satisfy
    expect(answer.claims?.scope).toBe('reports.*.* read:claims');
    // The three withheld templates count as removed by policy, and the request as narrowed.
    const after = await scrape(gateway.adminUrl);
    const delta = (name: string, labels: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);
    expect(delta('scopegate_scopes_removed_total', { reason: 'policy' })).toBe(3);
    expect(delta('scopegate_scopes_removed_total', { reason: 'not_requested' })).toBe(0);
    expect(delta('scopegate_token_requests_total', { outcome: 'narrowed' })).toBe(1);
  });

  it('refuses requested scopes nothing granted covers, naming only those', async () => {
    const answer = await token('accounts.read.1 billing.read reports.daily');
    expectRefused(answer, 'billing.read reports.daily');
    for (const held of ['read:claims', 'admin', 'clients', 'accounts.*']) {
      expect(String(answer.body.error_description)).not.toContain(held);
    }
  });

  it('refuses a template broader than what was granted, and opaque stars', async () => {
    expectRefused(await token('*'), '*');
    expectRefused(await token('reports.*'), 'reports.*');
    expectRefused(await token('read:*'), 'read:*');
    expectRefused(await token('accounts.read.1*'), 'accounts.read.1*');
  });
});

describe('governance policies through the gateway', () => {
  it('validates parameters with enum and pattern', async () => {
    expectRefused(await token('accounts.write.1234'), 'accounts.write.1234');
    expectRefused(await token('accounts.read.12ab'), 'accounts.read.12ab');
    expectRefused(
      await token(`accounts.read.${'1'.repeat(13)}`),
      `accounts.read.${'1'.repeat(13)}`,
    );
    expectRefused(await token('accounts.read.1.2'), 'accounts.read.1.2');
  });

  it('validates a parameter against a claim of the verified upstream token', async () => {
    const own = await token('clients.m2m');
    expect(own.status).toBe(200);
    expect(own.claims?.scope).toBe('clients.m2m');
    expectRefused(await token('clients.ops'), 'clients.ops');
  });

  it('limits a scope to the listed clients', async () => {
    expectRefused(await token('admin.users'), 'admin.users');
    const ops = await token('admin.users', ['ops', 'ops-secret']);
    expect(ops.status).toBe(200);
    expect(ops.claims?.scope).toBe('admin.users');
  });

  it('does not let a template request get round a policy', async () => {
    // accounts.* is granted as is, but stands for accounts.write.1, which policy refuses
    expectRefused(await token('accounts.*'), 'accounts.*');
    expectRefused(await token('accounts.read.*'), 'accounts.read.*');
    expectRefused(await token('admin.*'), 'admin.*');
  });

  it('drops refused scopes when configured to, and says what was issued', async () => {
    const answer = await token('accounts.read.1 accounts.write.1 billing.x', undefined, dropping);
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('accounts.read.1');
    expect(answer.claims?.scope).toBe('accounts.read.1');
    expectRefused(await token('accounts.write.1', undefined, dropping), 'accounts.write.1');
  });
});

describe('decision cache through the gateway', () => {
  it('counts hits, and never answers with a decision from an older config', async () => {
    const metrics = async () => {
      const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
      const value = (name: string) =>
        Number(new RegExp(`^${name}\\{cache="decision"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return {
        hits: value('scopegate_cache_hits_total'),
        misses: value('scopegate_cache_misses_total'),
      };
    };
    const before = await metrics();
    expect((await token('accounts.list.7')).status).toBe(200);
    expect((await token('accounts.list.7')).status).toBe(200);
    const after = await metrics();
    expect(after.hits).toBeGreaterThan(before.hits);
    expect(after.misses).toBeGreaterThan(before.misses);

    // list is no longer allowed: the cached "allowed" must not be served again
    const stricter = structuredClone(gateway.config);
    stricter.scopes = [{ ...SCOPES[0], params: [{ enum: ['read'] }] }, ...SCOPES.slice(1)];
    await gateway.writeConfig(stricter);
    expect(await gateway.instance.reload()).toBe(true);
    expectRefused(await token('accounts.list.7'), 'accounts.list.7');
    await gateway.writeConfig(gateway.config);
    expect(await gateway.instance.reload()).toBe(true);
    expect((await token('accounts.list.7')).status).toBe(200);
  });
});
