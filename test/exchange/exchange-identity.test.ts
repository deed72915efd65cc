/**
 * Whose exchange it is (RFC 8693 §4.3, §4.4): the authenticated exchange client is the one the
 * scope policies see and the issued token's client_id; an unauthenticated exchange keeps the
 * subject's client and can never obtain what a policy gives only to another client. A subject
 * carrying may_act is exchanged only with an actor token or an authenticated client it names,
 * which then appears in act.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OidcUpstream } from '../fixtures/oidc-upstream.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import {
  ACCESS_TOKEN_TYPE,
  basic,
  EXCHANGE_GRANT,
  exchange,
  exchangeClients,
  signWithGatewayKey,
  startExchangeUpstream,
} from './exchange-support.js';

const ISSUER = 'https://gateway.test';
const CC = { authorization: basic('cc-client', 'cc-secret') };
const SVC = { authorization: basic('svc', 'svc-secret') };
const OTHER = { authorization: basic('other', 'o-secret') };

let upstream: OidcUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startExchangeUpstream();
  const clients = await exchangeClients();
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    tokenPath: upstream.tokenPath,
    config: {
      token_exchange: {
        clients,
      },
      clients: [{ client_id: 'svc', scope_format: 'array' }],
      scopes: [
        { template: 'api:admin', clients: ['cc-client'] },
        { template: 'accounts.*', grant_types: [EXCHANGE_GRANT], clients: ['svc'] },
      ],
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const tokenPath = () => upstream.tokenPath;
const nowSec = () => Math.floor(Date.now() / 1000);

async function gatewayToken(scope: string): Promise<string> {
  const answer = await readTokenAnswer(
    await postForm(
      `${gateway.url}${upstream.tokenPath}`,
      { grant_type: 'client_credentials', scope },
      CC,
    ),
  );
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

async function upstreamToken(scope: string): Promise<string> {
  const answer = await readTokenAnswer(
    await postForm(upstream.tokenEndpoint, { grant_type: 'client_credentials', scope }, CC),
  );
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

/** A subject scopegate issued to cc-client, shaped by the test (may_act, act, azp). */
function ownSubject(extra: Record<string, unknown>): Promise<string> {
  return signWithGatewayKey(gateway, 'test-key', {
    iss: ISSUER,
    sub: 'user-1',
    client_id: 'cc-client',
    aud: upstream.resource,
    scope: 'api:read api:write',
    exp: nowSec() + 600,
    ...extra,
  });
}

describe('the client an exchange is for', () => {
  it('is the authenticated exchange client: its policies, its client_id, its scope format', async () => {
    const subject = await gatewayToken('api:read api:admin');
    // api:admin is cc-client's only: svc may not take it out of cc-client's token.
    const refused = await exchange(gateway, tokenPath(), subject, { scope: 'api:admin' }, SVC);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      error: 'invalid_scope',
      error_description: 'the requested scope is not permitted: api:admin',
    });
    const all = await exchange(gateway, tokenPath(), subject, {}, SVC);
    expect(all.status).toBe(200);
    expect(all.body.scope).toBe('api:read');
    expect(all.claims).toMatchObject({ client_id: 'svc', sub: 'cc-client', scope: ['api:read'] });
    expect(all.claims).not.toHaveProperty('act');
  });

  it("is the subject's client when nobody authenticates: pure narrowing of what it holds", async () => {
    const subject = await gatewayToken('api:read api:admin');
    const answer = await exchange(gateway, tokenPath(), subject, { scope: 'api:admin' });
    expect(answer.status).toBe(200);
    expect(answer.claims).toMatchObject({ client_id: 'cc-client', scope: 'api:admin' });
  });

  it('gives an unauthenticated caller nothing a policy keeps for another client', async () => {
    // Straight from the upstream: cc-client holds accounts.*, which policies give to svc only.
    const subject = await upstreamToken('api:read accounts.*');
    const cases: Array<[string, Record<string, string>, Record<string, string>]> = [
      ['anonymous', {}, {}],
      ['naming svc without its secret', { client_id: 'svc' }, {}],
      ['another authenticated client', {}, OTHER],
    ];
    for (const [what, params, headers] of cases) {
      const answer = await exchange(
        gateway,
        tokenPath(),
        subject,
        { scope: 'accounts.read.1', ...params },
        headers,
      );
      expect(answer.status, what).toBe(400);
      expect(answer.body.error, what).toBe('invalid_scope');
    }
    const svc = await exchange(gateway, tokenPath(), subject, { scope: 'accounts.read.1' }, SVC);
    expect(svc.status).toBe(200);
    expect(svc.claims).toMatchObject({ client_id: 'svc', scope: ['accounts.read.1'] });
    // Nothing requested: the anonymous exchange keeps what cc-client may have, and no more.
    const anonymous = await exchange(gateway, tokenPath(), subject);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.scope).toBe('api:read');
  });

  it("drops the subject's other names for its client when the token goes to another", async () => {
    const subject = await ownSubject({ azp: 'cc-client' });
    const toSvc = await exchange(gateway, tokenPath(), subject, {}, SVC);
    expect(toSvc.status).toBe(200);
    expect(toSvc.claims?.client_id).toBe('svc');
    expect(toSvc.claims).not.toHaveProperty('azp');
    const kept = await exchange(gateway, tokenPath(), subject);
    expect(kept.claims).toMatchObject({ client_id: 'cc-client', azp: 'cc-client' });
  });

  it('logs the authenticated client as the one the exchange was for', async () => {
    const subject = await gatewayToken('api:read');
    expect((await exchange(gateway, tokenPath(), subject, {}, SVC)).status).toBe(200);
    const line = gateway.logs
      .records()
      .filter((record) => record.msg === 'token request' && record.grantType === EXCHANGE_GRANT)
      .at(-1);
    expect(line).toMatchObject({ clientId: 'svc', status: 200 });
  });
});

describe('may_act without an actor token', () => {
  it('is refused to an unauthenticated caller', async () => {
    const subject = await ownSubject({ may_act: { client_id: 'svc' } });
    const answer = await exchange(gateway, tokenPath(), subject, { scope: 'api:read' });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'invalid_request',
      error_description:
        'the subject_token names who may act for it (may_act): an actor_token or an authenticated client it names is required',
    });
  });

  it('makes the authenticated client it names the actor', async () => {
    for (const mayAct of [{ client_id: 'svc' }, { sub: 'svc' }, { sub: 'svc', iss: ISSUER }]) {
      const subject = await ownSubject({ may_act: mayAct });
      const answer = await exchange(gateway, tokenPath(), subject, { scope: 'api:read' }, SVC);
      expect(answer.status, JSON.stringify(mayAct)).toBe(200);
      expect(answer.claims).toMatchObject({
        sub: 'user-1',
        client_id: 'svc',
        act: { sub: 'svc', iss: ISSUER, client_id: 'svc' },
      });
    }
  });

  it('nests the earlier actors under the client', async () => {
    const subject = await ownSubject({
      may_act: { client_id: 'svc' },
      act: { sub: 'first-actor' },
    });
    const answer = await exchange(gateway, tokenPath(), subject, {}, SVC);
    expect(answer.status).toBe(200);
    expect(answer.claims?.act).toEqual({
      sub: 'svc',
      iss: ISSUER,
      client_id: 'svc',
      act: { sub: 'first-actor' },
    });
  });

  it('is refused to an authenticated client it does not name', async () => {
    for (const mayAct of [
      { client_id: 'svc' },
      { sub: 'allowed-actor' },
      { sub: 'svc', iss: 'https://elsewhere.example' },
      {},
    ]) {
      const subject = await ownSubject({ may_act: mayAct });
      const answer = await exchange(gateway, tokenPath(), subject, {}, OTHER);
      expect(answer.status, JSON.stringify(mayAct)).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
      expect(answer.claims).toBeUndefined();
    }
  });

  it('still takes an actor token it names, with or without a client', async () => {
    const subject = await ownSubject({ may_act: { sub: 'allowed-actor' } });
    const actor = await signWithGatewayKey(gateway, 'test-key', {
      iss: ISSUER,
      sub: 'allowed-actor',
      exp: nowSec() + 600,
    });
    const params = { actor_token: actor, actor_token_type: ACCESS_TOKEN_TYPE };
    const anonymous = await exchange(gateway, tokenPath(), subject, params);
    expect(anonymous.status).toBe(200);
    expect(anonymous.claims).toMatchObject({
      client_id: 'cc-client',
      act: { sub: 'allowed-actor', iss: ISSUER },
    });
    const bySvc = await exchange(gateway, tokenPath(), subject, params, SVC);
    expect(bySvc.status).toBe(200);
    expect(bySvc.claims).toMatchObject({ client_id: 'svc', act: { sub: 'allowed-actor' } });
  });

  it('leaves a subject without may_act exchangeable with no actor, and no act', async () => {
    const subject = await ownSubject({});
    const answer = await exchange(gateway, tokenPath(), subject, {}, SVC);
    expect(answer.status).toBe(200);
    expect(answer.claims).not.toHaveProperty('act');
  });
});
