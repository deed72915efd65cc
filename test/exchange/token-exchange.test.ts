/**
 * Token exchange (RFC 8693) served by scopegate in front of a real IdP (node-oidc-provider):
 * narrowing scopegate's and the upstream's tokens, refused widening, retargeting, client
 * authentication, delegation (`act`, `may_act`), the RFC's response and error shapes, and a
 * resource server (jose) verifying the exchanged token.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OidcUpstream } from '../fixtures/oidc-upstream.js';
import {
  jwtHeader,
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import {
  ACCESS_TOKEN_TYPE,
  basic,
  EXCHANGE_GRANT,
  exchange,
  exchangeClients,
  signWithGatewayKey,
  startExchangeUpstream,
} from './exchange-support.js';

const DOWNSTREAM = 'https://downstream.example.com';
const CC = { authorization: basic('cc-client', 'cc-secret') };

let upstream: OidcUpstream;
let gateway: TestGateway;
let disabled: TestGateway;

beforeAll(async () => {
  upstream = await startExchangeUpstream();
  const clients = await exchangeClients();
  [gateway, disabled] = await Promise.all([
    startTestGateway({
      upstreamUrl: upstream.url,
      tokenPath: upstream.tokenPath,
      keys: [
        { kid: 'active-key', status: 'active' },
        { kid: 'next-key', status: 'next' },
        { kid: 'retired-key', status: 'retired' },
      ],
      config: {
        token_exchange: {
          clients,
          retarget: [{ from: upstream.resource, to: [DOWNSTREAM], clients: ['svc'] }],
        },
        scopes: [{ template: 'api:admin', grant_types: ['client_credentials'] }],
      },
    }),
    startTestGateway({
      upstreamUrl: upstream.url,
      tokenPath: upstream.tokenPath,
      config: { token_exchange: { enabled: false } },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), disabled?.close()]);
  await upstream?.close();
});

/** A scopegate token from the client credentials grant, through the gateway. */
async function gatewayToken(scope: string, target = gateway): Promise<string> {
  const answer = await readTokenAnswer(
    await postForm(
      `${target.url}${upstream.tokenPath}`,
      { grant_type: 'client_credentials', scope },
      CC,
    ),
  );
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

/** The upstream's own token, straight from oidc-provider (as a service behind it would hold). */
async function upstreamToken(scope: string): Promise<string> {
  const answer = await readTokenAnswer(
    await postForm(upstream.tokenEndpoint, { grant_type: 'client_credentials', scope }, CC),
  );
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

const tokenPath = () => upstream.tokenPath;
const nowSec = () => Math.floor(Date.now() / 1000);

describe('narrowing', () => {
  it("narrows a scopegate token: RFC 8693 §2.2 response, subject's identity, no longer life", async () => {
    const subject = await gatewayToken('api:read api:write');
    const answer = await exchange(gateway, tokenPath(), subject, { scope: 'api:read' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('pragma')).toBe('no-cache');
    expect(answer.body).toMatchObject({
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      scope: 'api:read',
    });
    expect(answer.body.expires_in).toBeTypeOf('number');
    const before = decodeJwt(subject);
    expect(answer.claims).toMatchObject({
      iss: 'https://gateway.test',
      sub: before.sub,
      client_id: 'cc-client',
      aud: upstream.resource,
      scope: 'api:read',
    });
    expect(answer.claims?.exp as number).toBeLessThanOrEqual(before.exp as number);
    expect(answer.claims?.jti).not.toBe(before.jti);
    expect(jwtHeader(answer.body.access_token as string)).toMatchObject({
      kid: 'active-key',
      typ: 'at+jwt',
    });
  });

  it("narrows the upstream's own token, verified like the token endpoint verifies it", async () => {
    const subject = await upstreamToken('api:read api:write');
    const answer = await exchange(gateway, tokenPath(), subject, { scope: 'api:write' });
    expect(answer.status).toBe(200);
    expect(answer.claims).toMatchObject({ iss: 'https://gateway.test', scope: 'api:write' });
    expect(answer.claims?.exp as number).toBeLessThanOrEqual(decodeJwt(subject).exp as number);
  });

  it("keeps every scope (policies allowing) when none is requested, and the subject's audience", async () => {
    const subject = await gatewayToken('api:read api:write');
    const answer = await exchange(gateway, tokenPath(), subject);
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('api:read api:write');
    expect(answer.claims?.aud).toBe(upstream.resource);
  });

  it('issues a concrete scope a wildcard in the subject covers', async () => {
    const subject = await gatewayToken('accounts.*');
    const answer = await exchange(gateway, tokenPath(), subject, { scope: 'accounts.read.1234' });
    expect(answer.status).toBe(200);
    expect(answer.claims?.scope).toBe('accounts.read.1234');
    // ... and a token narrowed that way cannot be widened back.
    const back = await exchange(gateway, tokenPath(), answer.body.access_token as string, {
      scope: 'accounts.*',
    });
    expect(back.status).toBe(400);
    expect(back.body.error).toBe('invalid_scope');
  });

  it('refuses widening with invalid_scope, naming only what was refused', async () => {
    const subject = await gatewayToken('api:read');
    const answer = await exchange(gateway, tokenPath(), subject, { scope: 'api:read api:write' });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'invalid_scope',
      error_description: 'the requested scope is not permitted: api:write',
    });
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('applies policies with the token-exchange grant type', async () => {
    // api:admin is limited to client_credentials: the subject holds it, an exchange may not.
    const subject = await gatewayToken('api:read api:admin');
    const refused = await exchange(gateway, tokenPath(), subject, { scope: 'api:admin' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_scope');
    const withheld = await exchange(gateway, tokenPath(), subject);
    expect(withheld.status).toBe(200);
    expect(withheld.body.scope).toBe('api:read');
  });
});

describe('subject tokens that are refused', () => {
  it('refuses an expired scopegate token', async () => {
    const subject = await signWithGatewayKey(gateway, 'active-key', {
      iss: 'https://gateway.test',
      sub: 'cc-client',
      client_id: 'cc-client',
      scope: 'api:read',
      iat: nowSec() - 7200,
      exp: nowSec() - 3600,
    });
    const answer = await exchange(gateway, tokenPath(), subject, { scope: 'api:read' });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'invalid_request',
      error_description: 'the subject_token is not valid: expired',
    });
  });

  it("refuses a token claiming scopegate's issuer but signed by another key", async () => {
    const stranger = await startTestGateway({
      upstreamUrl: upstream.url,
      tokenPath: upstream.tokenPath,
      admin: false,
    });
    try {
      const forged = await signWithGatewayKey(stranger, 'test-key', {
        iss: 'https://gateway.test',
        sub: 'cc-client',
        scope: 'api:read',
        exp: nowSec() + 600,
      });
      const answer = await exchange(gateway, tokenPath(), forged);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
      expect(answer.claims).toBeUndefined();
    } finally {
      await stranger.close();
    }
  });

  it('refuses a token from a foreign issuer, and garbage', async () => {
    const stranger = await startTestGateway({
      upstreamUrl: upstream.url,
      tokenPath: upstream.tokenPath,
      admin: false,
    });
    try {
      const foreign = await signWithGatewayKey(stranger, 'test-key', {
        iss: 'https://elsewhere.example',
        sub: 'cc-client',
        scope: 'api:read',
        exp: nowSec() + 600,
      });
      for (const subject of [foreign, 'not-a-token']) {
        const answer = await exchange(gateway, tokenPath(), subject);
        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('invalid_request');
      }
    } finally {
      await stranger.close();
    }
  });

  it('accepts tokens signed by a published next or retired key', async () => {
    for (const kid of ['next-key', 'retired-key']) {
      const subject = await signWithGatewayKey(gateway, kid, {
        iss: 'https://gateway.test',
        sub: 'cc-client',
        client_id: 'cc-client',
        aud: upstream.resource,
        scope: 'api:read api:write',
        exp: nowSec() + 600,
      });
      const answer = await exchange(gateway, tokenPath(), subject, { scope: 'api:read' });
      expect(answer.status, kid).toBe(200);
      expect(jwtHeader(answer.body.access_token as string).kid).toBe('active-key');
    }
  });

  it('refuses sender-constrained subjects, other token types and missing parameters', async () => {
    const bound = await signWithGatewayKey(gateway, 'active-key', {
      iss: 'https://gateway.test',
      sub: 'cc-client',
      scope: 'api:read',
      exp: nowSec() + 600,
      cnf: { jkt: 'thumbprint' },
    });
    const subject = await gatewayToken('api:read');
    const cases: Array<[string, Record<string, string>]> = [
      [bound, {}],
      [subject, { requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' }],
      [subject, { subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }],
      [subject, { actor_token_type: ACCESS_TOKEN_TYPE }],
      ['', {}],
    ];
    for (const [token, params] of cases) {
      const answer = await exchange(gateway, tokenPath(), token, params);
      expect(answer.status, JSON.stringify(params)).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
      expect(answer.body.error_description).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
    }
  });
});

describe('audience', () => {
  it('refuses an anonymous retarget with invalid_target', async () => {
    const subject = await gatewayToken('api:read');
    const answer = await exchange(gateway, tokenPath(), subject, { audience: DOWNSTREAM });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'invalid_target',
      error_description: 'changing the audience requires an authenticated client',
    });
  });

  it('retargets for a client the rule lists, authenticated by Basic or in the body', async () => {
    const subject = await gatewayToken('api:read api:write');
    const viaBasic = await exchange(
      gateway,
      tokenPath(),
      subject,
      { resource: DOWNSTREAM, scope: 'api:read' },
      { authorization: basic('svc', 'svc-secret') },
    );
    expect(viaBasic.status).toBe(200);
    expect(viaBasic.claims).toMatchObject({ aud: DOWNSTREAM, scope: 'api:read' });
    const viaPost = await exchange(gateway, tokenPath(), subject, {
      audience: DOWNSTREAM,
      client_id: 'svc',
      client_secret: 'svc-secret',
    });
    expect(viaPost.status).toBe(200);
    expect(viaPost.claims?.aud).toBe(DOWNSTREAM);
  });

  it('refuses a retarget the rule does not give to that client, or to that audience', async () => {
    const subject = await gatewayToken('api:read');
    const otherClient = await exchange(
      gateway,
      tokenPath(),
      subject,
      { audience: DOWNSTREAM },
      { authorization: basic('other', 'o-secret') },
    );
    expect(otherClient.status).toBe(400);
    expect(otherClient.body.error).toBe('invalid_target');
    const unlisted = await exchange(
      gateway,
      tokenPath(),
      subject,
      { audience: 'https://unlisted.example' },
      { authorization: basic('svc', 'svc-secret') },
    );
    expect(unlisted.status).toBe(400);
    expect(unlisted.body.error).toBe('invalid_target');
  });

  it('answers wrong client credentials with 401 invalid_client and a Basic challenge', async () => {
    const subject = await gatewayToken('api:read');
    for (const authorization of [basic('svc', 'wrong'), basic('nobody', 'svc-secret')]) {
      const answer = await exchange(gateway, tokenPath(), subject, {}, { authorization });
      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe('invalid_client');
      expect(answer.headers.get('www-authenticate')).toMatch(/^Basic /);
    }
  });

  it("keeps the subject's audience when it is the one asked for", async () => {
    const subject = await gatewayToken('api:read');
    const answer = await exchange(gateway, tokenPath(), subject, { audience: upstream.resource });
    expect(answer.status).toBe(200);
    expect(answer.claims?.aud).toBe(upstream.resource);
  });
});

describe('delegation', () => {
  it('puts the actor in act, nesting earlier actors', async () => {
    const subject = await gatewayToken('api:read api:write');
    const actor = await signWithGatewayKey(gateway, 'active-key', {
      iss: 'https://gateway.test',
      sub: 'actor-1',
      client_id: 'actor-app',
      exp: nowSec() + 600,
    });
    const first = await exchange(gateway, tokenPath(), subject, {
      actor_token: actor,
      actor_token_type: ACCESS_TOKEN_TYPE,
      scope: 'api:read api:write',
    });
    expect(first.status).toBe(200);
    expect(first.claims?.act).toEqual({
      sub: 'actor-1',
      iss: 'https://gateway.test',
      client_id: 'actor-app',
    });
    const actor2 = await signWithGatewayKey(gateway, 'active-key', {
      iss: 'https://gateway.test',
      sub: 'actor-2',
      exp: nowSec() + 600,
    });
    const second = await exchange(gateway, tokenPath(), first.body.access_token as string, {
      actor_token: actor2,
      actor_token_type: ACCESS_TOKEN_TYPE,
      scope: 'api:read',
    });
    expect(second.status).toBe(200);
    expect(second.claims?.act).toEqual({
      sub: 'actor-2',
      iss: 'https://gateway.test',
      act: { sub: 'actor-1', iss: 'https://gateway.test', client_id: 'actor-app' },
    });
  });

  it('honours may_act: only the named actor may act for the subject', async () => {
    const subject = await signWithGatewayKey(gateway, 'active-key', {
      iss: 'https://gateway.test',
      sub: 'user-1',
      client_id: 'cc-client',
      scope: 'api:read',
      exp: nowSec() + 600,
      may_act: { sub: 'allowed-actor' },
    });
    const actorToken = (sub: string) =>
      signWithGatewayKey(gateway, 'active-key', {
        iss: 'https://gateway.test',
        sub,
        exp: nowSec() + 600,
      });
    const refused = await exchange(gateway, tokenPath(), subject, {
      actor_token: await actorToken('someone-else'),
      actor_token_type: ACCESS_TOKEN_TYPE,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
    const allowed = await exchange(gateway, tokenPath(), subject, {
      actor_token: await actorToken('allowed-actor'),
      actor_token_type: ACCESS_TOKEN_TYPE,
    });
    expect(allowed.status).toBe(200);
    expect(allowed.claims?.act).toMatchObject({ sub: 'allowed-actor' });
  });
});

describe('around the exchange', () => {
  it('gives a resource server (jose) a token it verifies with the discovered JWKS', async () => {
    const subject = await gatewayToken('api:read api:write');
    const answer = await exchange(gateway, tokenPath(), subject, { scope: 'api:read' });
    const discovery = (await (
      await fetch(`${gateway.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    const jwks = createRemoteJWKSet(
      new URL(`${gateway.url}${new URL(discovery.jwks_uri as string).pathname}`),
    );
    const { payload } = await jwtVerify(answer.body.access_token as string, jwks, {
      issuer: 'https://gateway.test',
      audience: upstream.resource,
      typ: 'at+jwt',
    });
    expect(payload.scope).toBe('api:read');
  });

  it('advertises the grant in discovery when enabled, not when disabled', async () => {
    const grants = async (target: TestGateway) => {
      const document = (await (
        await fetch(`${target.url}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      return document.grant_types_supported as string[];
    };
    expect(await grants(gateway)).toContain(EXCHANGE_GRANT);
    expect(await grants(disabled)).not.toContain(EXCHANGE_GRANT);
  });

  it('forwards the grant to the upstream when disabled (which refuses it here)', async () => {
    const subject = await gatewayToken('api:read', disabled);
    const answer = await exchange(disabled, tokenPath(), subject, {}, CC);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('unsupported_grant_type');
  });

  it('counts exchanges in metrics and logs them with what the subject was', async () => {
    const subject = await upstreamToken('api:read api:write');
    const before = await scrape(gateway.adminUrl);
    const answer = await exchange(gateway, tokenPath(), subject, { scope: 'api:read' });
    expect(answer.status).toBe(200);
    const after = await scrape(gateway.adminUrl);
    const labels = { grant_type: EXCHANGE_GRANT, outcome: 'narrowed' };
    const counted = (scrapeResult: typeof before) =>
      scrapeResult.value('scopegate_token_requests_total', labels);
    expect(counted(after) - counted(before)).toBe(1);
    const line = gateway.logs
      .records()
      .filter((record) => record.msg === 'token request' && record.grantType === EXCHANGE_GRANT)
      .at(-1);
    expect(line).toMatchObject({
      outcome: 'narrowed',
      status: 200,
      clientId: 'cc-client',
      issuedScopes: 1,
      exchange: { subject: 'upstream', actor: false, retargeted: false },
    });
    expect(gateway.logs.text()).not.toContain(subject);
  });
});
