/**
 * `__proto__` from outside: an upstream token, ID token or token response with such a member is
 * the upstream's fault (502 server_error), never scopegate's 500; a client's JSON body with one is
 * a 400; nothing scopegate signs carries one and nothing inherits from one. Real HTTP, real
 * signatures (a programmable upstream).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CustomUpstream, startCustomUpstream } from '../support/custom-upstream.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

let upstream: CustomUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startCustomUpstream({ alg: 'ES256' });
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    // `constructor` listed, so that a carried member of that name is seen to stay plain data.
    config: { tokens: { carry_claims: ['azp', 'gty', 'constructor'] } },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

/** A correctly signed token whose payload JSON ends with `extra` members, written as given. */
function tokenWith(idp: CustomUpstream, extra: string, claims: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  const base = JSON.stringify({
    iss: idp.issuer,
    iat: now,
    exp: now + 3600,
    sub: 'user-1',
    client_id: 'web',
    scope: 'openid a b',
    ...claims,
  });
  return idp.signRaw(
    JSON.stringify({ alg: 'ES256', kid: idp.kid, typ: 'at+jwt' }),
    `${base.slice(0, -1)},${extra}}`,
  );
}

async function tokenRequest(body: Record<string, string> = {}) {
  const response = await postForm(`${gateway.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: 'web',
    ...body,
  });
  const text = await response.clone().text();
  return { answer: await readTokenAnswer(response), text };
}

describe('__proto__ members from the upstream', () => {
  it.each([
    // This one was a 500 "the token could not be signed": the issued claims inherited from it.
    '"__proto__":{"exp":"x","sub":1,"scope":"admin","aud":"z"}',
    '"__proto__":{"x":1}',
    '"__proto__":null',
    '"__proto__":"s"',
    '"\\u005f_proto__":{"polluted":true}',
    '"nested":{"__proto__":{"polluted":true}}',
    '"list":[{"__proto__":{"polluted":true}}]',
  ])('in the access token (%s): 502 server_error', async (extra) => {
    upstream.setHandler((_request, idp) => ({
      body: { access_token: tokenWith(idp, extra), token_type: 'Bearer', expires_in: 3600 },
    }));
    const { answer, text } = await tokenRequest();
    expect(answer.status, text).toBe(502);
    expect(answer.body).toEqual({
      error: 'server_error',
      error_description: 'the upstream issued a token that failed verification',
    });
    expect(text).not.toContain('eyJ');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('in the ID token: 502 server_error', async () => {
    upstream.setHandler(async (_request, idp) =>
      idp.tokenResponse(
        { sub: 'user-1', client_id: 'web', scope: 'openid a' },
        { id_token: tokenWith(idp, '"__proto__":{"email":"x@evil"}', { aud: 'web' }) },
      ),
    );
    const { answer, text } = await tokenRequest();
    expect(answer.status, text).toBe(502);
    expect(answer.body.error).toBe('server_error');
  });

  it('in the token response: 502 server_error naming it', async () => {
    upstream.setHandler(async (_request, idp) => {
      const token = await idp.sign({ sub: 'user-1', client_id: 'web', scope: 'a' });
      return {
        body: `{"access_token":"${token}","token_type":"Bearer","__proto__":{"scope":"admin"}}`,
      };
    });
    const { answer } = await tokenRequest();
    expect(answer.status).toBe(502);
    expect(answer.body).toEqual({
      error: 'server_error',
      error_description: 'the upstream token response has a member named __proto__',
    });
  });

  it('any value under __proto__, anywhere in the payload, is the upstream’s fault', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.boolean(), async (value, nested) => {
        const member = `"__proto__":${JSON.stringify(value)}`;
        upstream.setHandler((_request, idp) => ({
          body: {
            access_token: tokenWith(idp, nested ? `"claims":{${member}}` : member),
            token_type: 'Bearer',
          },
        }));
        const { answer } = await tokenRequest();
        expect(answer.status).toBe(502);
        expect(answer.body.error).toBe('server_error');
      }),
      { numRuns: 40 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('constructor and prototype members are carried as plain data', async () => {
    upstream.setHandler((_request, idp) => ({
      body: {
        access_token: tokenWith(idp, '"constructor":{"prototype":{"polluted":true}}'),
        token_type: 'Bearer',
      },
    }));
    const { answer, text } = await tokenRequest();
    expect(answer.status, text).toBe(200);
    const payload = JSON.parse(
      Buffer.from((answer.body.access_token as string).split('.')[1] ?? '', 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(payload.constructor).toEqual({ prototype: { polluted: true } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('__proto__ members from the client', () => {
  it('in a JSON token request body: 400 invalid_request, nothing sent upstream', async () => {
    const before = upstream.requests.length;
    const response = await fetch(`${gateway.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":"client_credentials","client_id":"web","__proto__":{"scope":"admin"}}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: "parameter '__proto__' is not accepted",
    });
    expect(upstream.requests.length).toBe(before);
  });
});
