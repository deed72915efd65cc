/**
 * The FAPI 2.0 profile through scopegate in front of an IdP that has no PAR, no PKCE, no `iss`
 * in its authorization responses, and codes that live long and redeem as often as asked
 * (instant-login.ts): every kind of non-conforming request is refused with the OAuth error and
 * status the profile and its RFCs name, one row each; a conforming flow works.
 */

import { generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  APP,
  authorize,
  clientAssertion,
  frontChannel,
  heldClientRule,
  type InstantLogin,
  OTHER,
  pkcePair,
  push,
  pushedParams,
  type Redemption,
  redeem,
  startInstantLogin,
  tokenProof,
} from './instant-login.js';

let login: InstantLogin;

beforeAll(async () => {
  login = await startInstantLogin();
});

afterAll(async () => {
  await login?.close();
});

afterEach(() => {
  vi.useRealTimers();
});

interface Refusal {
  status: number;
  error: string;
}

async function refusalOf(response: Response): Promise<Refusal> {
  const body = (await response.json()) as { error: string; error_description: unknown };
  expect(typeof body.error_description).toBe('string');
  // Refused, never redirected to a redirect_uri scopegate did not check.
  expect(response.headers.get('location')).toBeNull();
  return { status: response.status, error: body.error };
}

/** Moves scopegate's clock (Date only: sockets and timers run as ever). */
function later(ms: number): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() + ms);
}

async function pushedUri(
  client: { client_id: string; redirect_uri: string } = APP,
  challenge = pkcePair().challenge,
): Promise<string> {
  const answer = await push(login.gateway, pushedParams(client, challenge));
  expect(answer.status).toBe(201);
  return ((await answer.json()) as { request_uri: string }).request_uri;
}

const PUSHED: Array<[string, Record<string, string | undefined>, Refusal]> = [
  [
    'response_type token',
    { response_type: 'token' },
    { status: 400, error: 'unsupported_response_type' },
  ],
  [
    'response_type id_token',
    { response_type: 'id_token' },
    { status: 400, error: 'unsupported_response_type' },
  ],
  [
    'response_type code id_token',
    { response_type: 'code id_token' },
    { status: 400, error: 'unsupported_response_type' },
  ],
  ['no response_type', { response_type: undefined }, { status: 400, error: 'invalid_request' }],
  ['no code_challenge', { code_challenge: undefined }, { status: 400, error: 'invalid_request' }],
  [
    'code_challenge_method plain',
    { code_challenge_method: 'plain' },
    { status: 400, error: 'invalid_request' },
  ],
  [
    'no code_challenge_method',
    { code_challenge_method: undefined },
    { status: 400, error: 'invalid_request' },
  ],
  [
    'a challenge that is no S256 digest',
    { code_challenge: 'short' },
    { status: 400, error: 'invalid_request' },
  ],
  ['no redirect_uri', { redirect_uri: undefined }, { status: 400, error: 'invalid_request' }],
  [
    'an unregistered redirect_uri',
    { redirect_uri: 'https://evil.example/cb' },
    { status: 400, error: 'invalid_request' },
  ],
  [
    'a request_uri inside',
    { request_uri: 'urn:ietf:params:oauth:request_uri:x' },
    { status: 400, error: 'invalid_request' },
  ],
  ['a request object', { request: 'e30.e30.' }, { status: 400, error: 'request_not_supported' }],
  [
    'response_mode form_post',
    { response_mode: 'form_post' },
    { status: 400, error: 'invalid_request' },
  ],
  ['a malformed dpop_jkt', { dpop_jkt: 'nope' }, { status: 400, error: 'invalid_request' }],
  ['no client', { client_id: undefined }, { status: 401, error: 'invalid_client' }],
];

describe('pushed authorization requests that break the profile', () => {
  it.each(PUSHED)('%s: refused at PAR', async (_name, overrides, expected) => {
    const answer = await push(login.gateway, pushedParams(APP, pkcePair().challenge, overrides));
    expect(await refusalOf(answer)).toEqual(expected);
  });

  it('a push of a client without the profile is refused (its pushes go to the upstream)', async () => {
    const mixed = await startInstantLogin({
      profile: undefined,
      clients: [{ ...heldClientRule(APP), profile: 'fapi2' }],
    });
    try {
      const answer = await push(mixed.gateway, pushedParams(OTHER, pkcePair().challenge));
      expect(await refusalOf(answer)).toEqual({ status: 400, error: 'unauthorized_client' });
    } finally {
      await mixed.close();
    }
  });
});

describe('authorization requests that break the profile', () => {
  const rows: Array<[string, () => Promise<Record<string, string>>, Refusal]> = [
    [
      'a plain authorization request, not pushed',
      async () => pushedParams(APP, pkcePair().challenge),
      { status: 400, error: 'invalid_request' },
    ],
    [
      'implicit: response_type token, not pushed',
      async () => pushedParams(APP, pkcePair().challenge, { response_type: 'token' }),
      { status: 400, error: 'unsupported_response_type' },
    ],
    [
      'a request_uri scopegate never answered',
      async () => ({
        client_id: APP.client_id,
        request_uri: 'urn:ietf:params:oauth:request_uri:forged',
      }),
      { status: 400, error: 'invalid_request_uri' },
    ],
    [
      'a request_uri used already',
      async () => {
        const request_uri = await pushedUri();
        expect(
          (await authorize(login.gateway, { client_id: APP.client_id, request_uri })).status,
        ).toBe(302);
        return { client_id: APP.client_id, request_uri };
      },
      { status: 400, error: 'invalid_request_uri' },
    ],
    [
      'a request_uri past its expires_in',
      async () => {
        const request_uri = await pushedUri();
        later(61_000);
        return { client_id: APP.client_id, request_uri };
      },
      { status: 400, error: 'invalid_request_uri' },
    ],
    [
      'a request_uri of another client',
      async () => ({ client_id: APP.client_id, request_uri: await pushedUri(OTHER) }),
      { status: 400, error: 'invalid_request_uri' },
    ],
    [
      'a request_uri without client_id',
      async () => ({ request_uri: await pushedUri() }),
      { status: 400, error: 'invalid_request' },
    ],
  ];

  it.each(rows)('%s: refused without a redirect', async (_name, query, expected) => {
    const params = await query();
    const before = login.codes.size;
    const answer = await authorize(login.gateway, params);
    expect(await refusalOf(answer)).toEqual(expected);
    // Nothing reached the upstream's authorization endpoint.
    expect(login.codes.size).toBe(before);
  });
});

describe('token requests that break the profile', () => {
  const rows: Array<[string, () => Promise<Redemption>, Refusal]> = [
    [
      'no DPoP proof (the profile requires sender-constrained tokens)',
      async () => {
        const { callback, verifier } = await frontChannel(login);
        return { code: callback.searchParams.get('code') as string, verifier, proof: null };
      },
      { status: 400, error: 'invalid_dpop_proof' },
    ],
    [
      'a DPoP key other than the dpop_jkt pushed',
      async () => {
        const { callback, verifier } = await frontChannel(login, APP, {
          dpop_jkt: pkcePair().challenge,
        });
        return { code: callback.searchParams.get('code') as string, verifier };
      },
      { status: 400, error: 'invalid_grant' },
    ],
    [
      'a wrong code_verifier',
      async () => {
        const { callback } = await frontChannel(login);
        return { code: callback.searchParams.get('code') as string, verifier: pkcePair().verifier };
      },
      { status: 400, error: 'invalid_grant' },
    ],
    [
      'no code_verifier',
      async () => {
        const { callback } = await frontChannel(login);
        return { code: callback.searchParams.get('code') as string };
      },
      { status: 400, error: 'invalid_grant' },
    ],
    [
      'a code used already',
      async () => {
        const { callback, verifier } = await frontChannel(login);
        const code = callback.searchParams.get('code') as string;
        expect((await redeem(login.gateway, { code, verifier })).status).toBe(200);
        return { code, verifier };
      },
      { status: 400, error: 'invalid_grant' },
    ],
    [
      'a code older than 60 s',
      async () => {
        const { callback, verifier } = await frontChannel(login);
        later(61_000);
        return { code: callback.searchParams.get('code') as string, verifier };
      },
      { status: 400, error: 'invalid_grant' },
    ],
    [
      'a code redeemed by another client',
      async () => {
        const { callback, verifier } = await frontChannel(login);
        return {
          code: callback.searchParams.get('code') as string,
          verifier,
          client_id: OTHER.client_id,
          redirect_uri: OTHER.redirect_uri,
        };
      },
      { status: 400, error: 'invalid_grant' },
    ],
    [
      'another redirect_uri than was pushed',
      async () => {
        const { callback, verifier } = await frontChannel(login);
        return {
          code: callback.searchParams.get('code') as string,
          verifier,
          redirect_uri: 'https://app.example/other',
        };
      },
      { status: 400, error: 'invalid_grant' },
    ],
    [
      "a code the upstream issued outside scopegate's PAR (straight from the upstream)",
      async () => {
        const direct = await fetch(
          `${login.upstream.url}/authorize?client_id=app&response_type=code&redirect_uri=${encodeURIComponent(APP.redirect_uri)}`,
          { redirect: 'manual' },
        );
        const code = new URL(direct.headers.get('location') as string).searchParams.get('code');
        return { code: code as string, verifier: pkcePair().verifier };
      },
      { status: 400, error: 'invalid_grant' },
    ],
  ];

  it.each(rows)('%s: refused before the upstream is asked', async (_name, request, expected) => {
    const params = await request();
    const asked = login.upstream.requests.length;
    expect(await refusalOf(await redeem(login.gateway, params))).toEqual(expected);
    expect(login.upstream.requests.length).toBe(asked);
  });
});

describe('client authentication the profile refuses', () => {
  const rows: Array<[string, Record<string, unknown> | null, Record<string, string>]> = [
    ['no client authentication', null, {}],
    ['a client secret instead of an assertion', null, { client_secret: 'app-secret' }],
    ['an assertion for the token endpoint, not the issuer alone', { aud: 'TOKEN' }, {}],
    ['an assertion for the issuer among others', { aud: ['ISSUER', 'https://other.example'] }, {}],
  ];

  const audience = (value: unknown): unknown =>
    value === 'TOKEN'
      ? `${login.gateway.issuer}/oauth/token`
      : Array.isArray(value)
        ? value.map((item) => (item === 'ISSUER' ? login.gateway.issuer : item))
        : value;

  it.each(rows)(
    '%s: 401 invalid_client at PAR and at the token endpoint',
    async (_name, claims, extra) => {
      const assertion = claims === null ? null : { ...claims, aud: audience(claims.aud) };
      const pushed = await push(
        login.gateway,
        { ...pushedParams(APP, pkcePair().challenge), ...extra },
        {},
        assertion,
      );
      expect(await refusalOf(pushed)).toEqual({ status: 401, error: 'invalid_client' });
      const { callback, verifier } = await frontChannel(login);
      const asked = login.upstream.requests.length;
      const redeemed = await redeem(login.gateway, {
        code: callback.searchParams.get('code') as string,
        verifier,
        assertion: claims === null ? null : { ...claims, aud: audience(claims.aud) },
      });
      expect(await refusalOf(redeemed)).toEqual({ status: 401, error: 'invalid_client' });
      expect(login.upstream.requests.length).toBe(asked);
    },
  );
});

describe('DPoP at PAR (RFC 9449 §10)', () => {
  it('a proof whose key is not dpop_jkt is refused at PAR', async () => {
    const proof = await tokenProof(login.gateway, undefined, '/par');
    const answer = await push(
      login.gateway,
      pushedParams(APP, pkcePair().challenge, { dpop_jkt: pkcePair().challenge }),
      { dpop: proof },
    );
    expect(await refusalOf(answer)).toEqual({ status: 400, error: 'invalid_dpop_proof' });
  });

  it("a code pushed with a proof is redeemed only with that proof's key", async () => {
    const { verifier, challenge } = pkcePair();
    const pushed = await push(login.gateway, pushedParams(APP, challenge), {
      dpop: await tokenProof(login.gateway, undefined, '/par'),
    });
    expect(pushed.status).toBe(201);
    const { request_uri } = (await pushed.json()) as { request_uri: string };
    const answer = await authorize(login.gateway, { client_id: APP.client_id, request_uri });
    const code = new URL(answer.headers.get('location') as string).searchParams.get(
      'code',
    ) as string;
    const other = await generateKeyPair('ES256');
    const refused = await redeem(login.gateway, {
      code,
      verifier,
      proof: await tokenProof(login.gateway, other),
    });
    expect(await refusalOf(refused)).toEqual({ status: 400, error: 'invalid_grant' });
  });
});

describe('grants the profile refuses', () => {
  it('the password grant of a held client: unauthorized_client, the upstream never asked', async () => {
    const asked = login.upstream.requests.length;
    const answer = await fetch(`${login.gateway.issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        ...(await clientAssertion(login.gateway, APP.client_id)),
        grant_type: 'password',
        client_id: APP.client_id,
        username: 'alice',
        password: 'secret',
      }).toString(),
    });
    expect(await refusalOf(answer)).toEqual({ status: 400, error: 'unauthorized_client' });
    expect(login.upstream.requests.length).toBe(asked);
  });
});

describe('a conforming flow', () => {
  it("is answered: the client's state given back, scopegate's iss added, the code redeemed once", async () => {
    const { callback, verifier } = await frontChannel(login);
    expect(callback.origin + callback.pathname).toBe(APP.redirect_uri);
    expect(callback.searchParams.get('state')).toBe('client-state-1');
    expect(callback.searchParams.get('iss')).toBe(login.gateway.issuer);
    const code = callback.searchParams.get('code') as string;
    const answer = await redeem(login.gateway, { code, verifier });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { access_token: string };
    expect(typeof body.access_token).toBe('string');
  });

  it('a pushed request is answered 201 with a request_uri URN and expires_in', async () => {
    const answer = await push(login.gateway, pushedParams(APP, pkcePair().challenge));
    expect(answer.status).toBe(201);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const body = (await answer.json()) as Record<string, unknown>;
    expect(body.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);
    expect(body.expires_in).toBe(60);
  });

  it('the upstream is sent the pushed parameters, with a state of scopegate and no dpop_jkt', async () => {
    const { challenge } = pkcePair();
    const jkt = pkcePair().challenge;
    const pushed = await push(login.gateway, pushedParams(APP, challenge, { dpop_jkt: jkt }));
    const { request_uri } = (await pushed.json()) as { request_uri: string };
    const answer = await authorize(login.gateway, {
      client_id: APP.client_id,
      request_uri,
      scope: 'admin',
    });
    const callback = new URL(answer.headers.get('location') as string);
    // The browser's scope never reached the upstream: the code was issued for the pushed request.
    expect(callback.searchParams.get('state')).toBe('client-state-1');
  });

  it('a client that sent no state gets none back', async () => {
    const { challenge } = pkcePair();
    const pushed = await push(login.gateway, pushedParams(APP, challenge, { state: undefined }));
    const { request_uri } = (await pushed.json()) as { request_uri: string };
    const answer = await authorize(login.gateway, { client_id: APP.client_id, request_uri });
    const callback = new URL(answer.headers.get('location') as string);
    expect(callback.searchParams.has('state')).toBe(false);
    expect(callback.searchParams.get('iss')).toBe(login.gateway.issuer);
  });
});
