/**
 * Items 6 and 7 against a hostile upstream: a 200 answer carries only known members and safe
 * headers, and an upstream token that means different things to different readers, or that is
 * about to expire, is refused. Every case checks that no byte the client receives carries the
 * upstream's token.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CustomTokenAnswer, CustomUpstream } from '../support/custom-upstream.js';
import { jwtPayload } from '../support/gateway.js';
import { expectNoUpstreamToken, expectOAuthError, postFormBytes } from './client-bytes.js';
import { useHostileGateway } from './hostile-gateway.js';

const hostile = useHostileGateway({
  tokens: {
    clock_tolerance: '30s',
    min_lifetime: '60s',
    response_members: ['issued_token_type', 'echo'],
  },
});

const now = () => Math.floor(Date.now() / 1000);
const CLAIMS = { sub: 'svc', client_id: 'svc', scope: 'a b c admin' };

/** Plants the answer `build` makes around a token; returns what the client got and the token. */
async function exchange(build: (idp: CustomUpstream) => Promise<Planted> | Planted) {
  let planted = '';
  hostile.upstream.setHandler(async (_request, idp) => {
    const { token, answer } = await build(idp);
    planted = token;
    return answer;
  });
  const answer = await postFormBytes(hostile.tokenUrl, {
    grant_type: 'client_credentials',
    scope: 'a',
  });
  expect(planted).not.toBe('');
  expectNoUpstreamToken(answer, planted);
  return answer;
}

interface Planted {
  token: string;
  answer: CustomTokenAnswer;
}

/** A token response around a token the upstream signs from the exact JSON texts given. */
function rawTokenAnswer(idp: CustomUpstream, header: string, payload: string): Planted {
  const token = idp.signRaw(header, payload);
  return {
    token,
    answer: { body: { access_token: token, token_type: 'Bearer', expires_in: 3600 } },
  };
}

async function signedAnswer(
  idp: CustomUpstream,
  claims: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<Planted> {
  const token = await idp.sign(claims);
  return {
    token,
    answer: { body: { access_token: token, token_type: 'Bearer', expires_in: 3600, ...extra } },
  };
}

describe('a 200 answer carries only known members (item 6)', () => {
  it('drops unknown members, keeps allowlisted ones', async () => {
    const answer = await exchange(async (idp) => {
      const token = await idp.sign(CLAIMS);
      return {
        token,
        answer: {
          body: {
            access_token: token,
            token_type: 'Bearer',
            expires_in: '3600',
            scope: 'a b c admin',
            issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
            upstream_token: token,
            debug: { granted: 'a b c admin' },
          },
        },
      };
    });
    expect(answer.status).toBe(200);
    const body = answer.json();
    expect(Object.keys(body).sort()).toEqual(
      ['access_token', 'expires_in', 'issued_token_type', 'scope', 'token_type'].sort(),
    );
    expect(body.scope).toBe('a');
    expect(Number.isInteger(body.expires_in)).toBe(true);
    expect(jwtPayload(body.access_token as string).scope).toBe('a');
  });

  it('fails closed when an allowlisted member echoes the upstream token', async () => {
    const answer = await exchange((idp) =>
      signedAnswer(idp, CLAIMS, { echo: { nested: 'x' } }).then(async (signed) => {
        signed.answer.body = { ...(signed.answer.body as object), echo: { nested: signed.token } };
        return signed;
      }),
    );
    expectOAuthError(answer, 502, 'server_error');
  });

  it('drops a refresh_token that is not a string', async () => {
    const answer = await exchange((idp) => signedAnswer(idp, CLAIMS, { refresh_token: { t: 1 } }));
    expect(answer.status).toBe(200);
    expect(answer.json()).not.toHaveProperty('refresh_token');
  });

  it('fails closed on an id_token that is not a verifiable JWT', async () => {
    for (const idToken of [7, 'id-1']) {
      const answer = await exchange((idp) => signedAnswer(idp, CLAIMS, { id_token: idToken }));
      expectOAuthError(answer, 502, 'server_error');
    }
  });

  it('fails closed on a token_type that is not a token type', async () => {
    const answer = await exchange((idp) =>
      signedAnswer(idp, CLAIMS, { token_type: 'Bearer "x"\r\n' }),
    );
    expectOAuthError(answer, 502, 'server_error');
  });

  it('keeps CORS and Vary on the 200 and drops every other upstream header', async () => {
    const answer = await exchange(async (idp) => {
      const signed = await signedAnswer(idp, CLAIMS);
      signed.answer.headers = {
        'access-control-allow-origin': 'https://app.example',
        'access-control-allow-credentials': 'true',
        vary: 'Origin',
        'set-cookie': `t=${signed.token}`,
        'x-token': signed.token,
        'x-powered-by': 'idp',
        'cache-control': 'public, max-age=600',
      };
      return signed;
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(answer.headers['access-control-allow-credentials']).toBe('true');
    expect(answer.headers.vary).toBe('Origin');
    expect(answer.headers['cache-control']).toBe('no-store');
    for (const name of ['set-cookie', 'x-token', 'x-powered-by']) {
      expect(answer.headers[name]).toBeUndefined();
    }
  });

  it('reads a gzip-encoded 200 and answers uncompressed', async () => {
    const answer = await exchange(async (idp) => {
      const signed = await signedAnswer(idp, CLAIMS);
      signed.answer = {
        body: gzipSync(Buffer.from(JSON.stringify(signed.answer.body))),
        headers: { 'content-encoding': 'gzip' },
      };
      return signed;
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.json().scope).toBe('a');
  });

  it('fails closed on a 200 whose JSON repeats a member', async () => {
    const answer = await exchange(async (idp) => {
      const token = await idp.sign(CLAIMS);
      return {
        token,
        answer: { body: `{"access_token":"${token}","scope":"a","scope":"a b c admin"}` },
      };
    });
    expectOAuthError(answer, 502, 'server_error');
  });
});

interface TokenCase {
  name: string;
  build: (
    idp: CustomUpstream,
  ) =>
    | Promise<{ token: string; answer: CustomTokenAnswer }>
    | { token: string; answer: CustomTokenAnswer };
}

const payload = (extra: string) =>
  `{"iss":"${hostile.upstream.issuer}","iat":${now()},"exp":${now() + 3600},"sub":"svc","client_id":"svc"${extra}}`;

const REFUSED: TokenCase[] = [
  {
    name: 'payload repeats scope (first narrow, last broad)',
    build: (idp) =>
      rawTokenAnswer(
        idp,
        `{"alg":"${idp.alg}","kid":"${idp.kid}"}`,
        payload(',"scope":"a","scope":"a b c admin"'),
      ),
  },
  {
    name: 'payload repeats a member spelled with an escape',
    build: (idp) =>
      rawTokenAnswer(
        idp,
        `{"alg":"${idp.alg}","kid":"${idp.kid}"}`,
        payload(',"scope":"a","sc\\u006fpe":"admin"'),
      ),
  },
  {
    name: 'payload repeats a member inside a nested object',
    build: (idp) =>
      rawTokenAnswer(
        idp,
        `{"alg":"${idp.alg}","kid":"${idp.kid}"}`,
        payload(',"scope":"a","cnf":{"jkt":"x","jkt":"y"}'),
      ),
  },
  {
    name: 'header repeats alg',
    build: (idp) =>
      rawTokenAnswer(
        idp,
        `{"alg":"none","alg":"${idp.alg}","kid":"${idp.kid}"}`,
        payload(',"scope":"a"'),
      ),
  },
  {
    name: 'header repeats kid',
    build: (idp) =>
      rawTokenAnswer(
        idp,
        `{"alg":"${idp.alg}","kid":"other","kid":"${idp.kid}"}`,
        payload(',"scope":"a"'),
      ),
  },
  { name: 'aud is a number', build: (idp) => signedAnswer(idp, { ...CLAIMS, aud: 42 }) },
  {
    name: 'aud is an object',
    build: (idp) => signedAnswer(idp, { ...CLAIMS, aud: { api: true } }),
  },
  {
    name: 'aud array holds a non-string',
    build: (idp) => signedAnswer(idp, { ...CLAIMS, aud: ['api', 7] }),
  },
  {
    name: 'iat lies in the future beyond the tolerance',
    build: (idp) => signedAnswer(idp, { ...CLAIMS, iat: now() + 600 }),
  },
  {
    name: 'already expired (within the clock tolerance)',
    build: (idp) => signedAnswer(idp, { ...CLAIMS, exp: now() - 5 }),
  },
  {
    name: 'expires in less than tokens.min_lifetime',
    build: (idp) => signedAnswer(idp, { ...CLAIMS, exp: now() + 20 }),
  },
];

describe('hostile upstream tokens are refused (item 7)', () => {
  it.each(REFUSED)('$name', async ({ build }) => {
    const answer = await exchange(build);
    expectOAuthError(answer, 502, 'server_error');
  });

  it('accepts iat a little in the future (within the tolerance) and a fractional exp', async () => {
    const answer = await exchange((idp) =>
      signedAnswer(idp, { ...CLAIMS, iat: now() + 10, exp: now() + 3000.75 }),
    );
    expect(answer.status).toBe(200);
    const body = answer.json();
    expect(Number.isInteger(body.expires_in)).toBe(true);
    expect(Number.isInteger(jwtPayload(body.access_token as string).exp)).toBe(true);
  });

  it('answers expires_in as an integer that never exceeds the upstream token', async () => {
    const answer = await exchange((idp) => signedAnswer(idp, { ...CLAIMS, exp: now() + 120 }));
    expect(answer.status).toBe(200);
    const expiresIn = answer.json().expires_in as number;
    expect(Number.isInteger(expiresIn)).toBe(true);
    expect(expiresIn).toBeGreaterThanOrEqual(60);
    expect(expiresIn).toBeLessThanOrEqual(120);
  });
});
