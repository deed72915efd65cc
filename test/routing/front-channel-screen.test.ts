/**
 * The front channel screened after the upstream answered (issue: nothing wider than what was
 * issued leaves scopegate). A lenient upstream reads authorization parameters from every carrier
 * and answers with its own tokens; whatever the request looked like and whatever carries the
 * token back (redirect query or fragment in any escaping, Refresh, Link, any header, a page of any
 * type and size, JSON, text, compressed, UTF-16), the client gets an OAuth error and none of the
 * upstream's token bytes. The request fence reads every carrier too, and refuses a body it cannot
 * read on an authorization, PAR or logout request.
 */

import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREEN_LIMIT } from '../../proxy/relay/front-channel-screen.js';
import type { TestGateway } from '../support/gateway.js';
import { startGatewayBeforeLeakyUpstream } from '../support/leaky-gateway.js';
import {
  type LeakyTokens,
  type LeakyUpstream,
  startLeakyUpstream,
} from '../support/leaky-upstream.js';
import { exchange, type RawExchange } from '../support/raw-exchange.js';

let upstream: LeakyUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startLeakyUpstream();
  gateway = await startGatewayBeforeLeakyUpstream(upstream);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

function expectNoUpstreamToken(answer: RawExchange) {
  for (const secret of upstream.secrets()) expect(answer.all).not.toContain(secret);
}

async function expectRefusedAnswer(answer: RawExchange, status = 502) {
  expect(answer.status).toBe(status);
  expect(answer.headers.location).toBeUndefined();
  expect(answer.headers['content-type']).toContain('application/json');
  expect(JSON.parse(answer.body.toString('utf8'))).toHaveProperty('error');
  expectNoUpstreamToken(answer);
}

const page =
  (type: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': type, ...headers });
    res.end(body);
  };
const redirect =
  (location: string, headers: Record<string, string> = {}) =>
  (res: ServerResponse) => {
    res.writeHead(302, { location, ...headers });
    res.end();
  };
const formPost = (fields: string) =>
  '<html><body onload="document.forms[0].submit()"><form method="post" action="https://app.example/cb">' +
  `${fields}</form></body></html>`;

type Carrier = [string, (t: LeakyTokens) => (res: ServerResponse) => void];

/** Every way an answer can hand a token back, each on its own path, answered to a plain GET. */
const CARRIERS: Carrier[] = [
  ['Location query, by name', (t) => redirect(`https://app.example/cb?access_token=${t.refresh}`)],
  [
    'Location fragment, name percent-encoded',
    (t) => redirect(`https://app.example/cb#id%5Ftoken=${t.id}`),
  ],
  [
    'Location fragment, name encoded twice',
    (t) => redirect(`https://app.example/cb#refresh%255Ftoken=${t.refresh}`),
  ],
  [
    'Location fragment, name plus-padded, upper case',
    (t) => redirect(`https://app.example/cb#+ACCESS_TOKEN+=${t.refresh}`),
  ],
  [
    'Location fragment, a JWT under another name',
    (t) => redirect(`https://app.example/cb#at=${t.access}`),
  ],
  [
    'Location, a JWT signed with an upstream key, foreign iss',
    (t) => redirect(`https://app.example/cb?x=${t.foreignIssuer}`),
  ],
  [
    'Location, an unsigned JWT with the upstream iss',
    (t) => redirect(`https://app.example/cb#x=${t.unsigned}`),
  ],
  ['Location, a JWE', (t) => redirect(`https://app.example/cb#x=${t.jwe}`)],
  [
    'Refresh header',
    (t) => page('text/plain', 'moved', { refresh: `0; url=https://app.example/cb#t=${t.access}` }),
  ],
  [
    'Link header',
    (t) =>
      page('text/plain', 'see link', { link: `<https://app.example/cb?x=${t.id}>; rel="next"` }),
  ],
  ['any other header', (t) => page('text/plain', 'ok', { 'x-upstream-token': t.access })],
  [
    'a meta refresh page',
    (t) =>
      page(
        'text/html',
        `<meta http-equiv="refresh" content="0;url=https://app.example/cb#t=${t.access}">`,
      ),
  ],
  [
    'a script setting location',
    (t) => {
      const [h, p, s] = t.access.split('.');
      return page(
        'text/html',
        `<script>location = "https://app.example/cb#t=${h}\\u002e${p}\\x2e${s}";</script>`,
      );
    },
  ],
  [
    'an entity-escaped JWT in a page',
    (t) => page('text/html', `<p>${t.id.replace(/\./g, '&#46;')}</p>`),
  ],
  [
    'a form_post page, text/html',
    (t) =>
      page('text/html', formPost(`<input type="hidden" name="access_token" value="${t.refresh}">`)),
  ],
  [
    'a form_post page, application/xhtml+xml',
    (t) =>
      page(
        'application/xhtml+xml',
        formPost(`<input type="hidden" name="access_token" value="${t.refresh}"/>`),
      ),
  ],
  [
    'a form_post page over 256 KiB',
    (t) =>
      page(
        'text/html',
        `${'<p>filler</p>'.repeat(24_000)}${formPost(`<input type="hidden" name="id_token" value="${t.id}">`)}`,
      ),
  ],
  [
    'a page over the screening limit',
    (t) =>
      page(
        'text/html',
        `${'<p>filler</p>'.repeat(Math.ceil(SCREEN_LIMIT / 13))}${formPost(`<input name="code" value="${t.access}">`)}`,
      ),
  ],
  [
    'a gzip page',
    (t) =>
      page('text/html', gzipSync(formPost(`<input name="x" value="${t.access}">`)), {
        'content-encoding': 'gzip',
      }),
  ],
  [
    'a UTF-16 page',
    (t) => page('text/html; charset=utf-16le', Buffer.from(`<p>${t.access}</p>`, 'utf16le')),
  ],
  [
    'a JSON body by name',
    (t) => page('application/json', JSON.stringify({ access_token: t.refresh })),
  ],
  [
    'a JSON body, a JWT under another name',
    (t) => page('application/json', JSON.stringify({ result: t.id })),
  ],
  ['a text/plain body', (t) => page('text/plain', `token: ${t.access}`)],
  ['an octet-stream body', (t) => page('application/octet-stream', t.access)],
  [
    'a body without a content type',
    (t) => (res) => {
      res.writeHead(200);
      res.end(`<form><input name="x" value="${t.unsigned}"></form>`);
    },
  ],
];

describe('every carrier of an answer is screened', () => {
  it.each(CARRIERS)('%s: refused, no token byte reaches the client', async (name, leak) => {
    const path = `/leak/${CARRIERS.findIndex(([named]) => named === name)}`;
    upstream.leakOn(path, leak(upstream.tokens));
    const answer = await exchange(`${gateway.url}${path}?response_type=code&client_id=c`);
    await expectRefusedAnswer(answer);
  });

  it('passes a code-flow redirect, with the upstream issuer rewritten', async () => {
    const answer = await exchange(`${gateway.url}/authorize?response_type=code&client_id=c`);
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe(
      `https://app.example/cb?code=c-1&state=s&iss=${encodeURIComponent('https://gateway.test')}`,
    );
  });

  it('passes pages and JSON without tokens, and static assets unread', async () => {
    upstream.leakOn(
      '/login',
      page('text/html', '<form method="post"><input name="username"></form>'),
    );
    upstream.leakOn('/api/me', page('application/json', '{"name":"alice"}'));
    upstream.leakOn('/logo.png', page('image/png', 'png bytes'));
    for (const path of ['/login', '/api/me', '/logo.png']) {
      expect((await exchange(`${gateway.url}${path}`)).status, path).toBe(200);
    }
  });

  it("passes the upstream's own session state in a cookie, never a token a party would accept", async () => {
    upstream.leakOn('/session', (res) => {
      res.writeHead(200, {
        'set-cookie': `IDENTITY=${upstream.tokens.session}; HttpOnly; Path=/`,
        'content-type': 'image/gif',
      });
      res.end('gif');
    });
    expect((await exchange(`${gateway.url}/session`)).status).toBe(200);
    // The upstream's ID token and access token carry an audience, a scope or a client: refused
    // under any cookie name, as is anything named like a token.
    for (const [path, cookie] of [
      ['/session-id-token', `IDENTITY=${upstream.tokens.id}; HttpOnly; Path=/`],
      ['/session-access-token', `S=${encodeURIComponent(upstream.tokens.access)}; Path=/`],
      ['/session-jwe', `S=${upstream.tokens.jwe}; Path=/`],
      ['/session-named', `access_token=${upstream.tokens.refresh}; Path=/`],
    ] as const) {
      upstream.leakOn(path, (res) => {
        res.writeHead(200, { 'set-cookie': cookie });
        res.end();
      });
      await expectRefusedAnswer(await exchange(`${gateway.url}${path}`));
    }
  });
});

describe('authorization requests in every body format', () => {
  const multipart = (fields: Record<string, string>) => {
    const boundary = 'XyZ123';
    const body = Object.entries(fields)
      .map(
        ([name, value]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
      )
      .join('');
    return {
      type: `multipart/form-data; boundary=${boundary}`,
      body: `${body}--${boundary}--\r\n`,
    };
  };
  const implicit = {
    client_id: 'c',
    response_type: 'token',
    redirect_uri: 'https://app.example/cb',
  };
  const bodies: Array<[string, Record<string, string>, string]> = [
    ['multipart/form-data', { 'content-type': multipart(implicit).type }, multipart(implicit).body],
    ['text/plain', { 'content-type': 'text/plain' }, 'client_id=c\r\nresponse_type=token\r\n'],
    ['no content type', {}, 'client_id=c&response_type=token'],
    [
      'a percent-encoded name in a form',
      { 'content-type': 'application/x-www-form-urlencoded' },
      'client_id=c&response%255Ftype=token',
    ],
  ];

  it.each(bodies)(
    'POST /authorize as %s: refused before the upstream',
    async (_name, headers, body) => {
      const before = upstream.received();
      const answer = await exchange(`${gateway.url}/authorize`, { method: 'POST', headers, body });
      await expectRefusedAnswer(answer, 400);
      expect(JSON.parse(answer.body.toString('utf8')).error).toBe('unsupported_response_type');
      expect(upstream.received()).toBe(before);
    },
  );

  it('a pushed request in multipart is refused; a pushed token request is caught on the way back', async () => {
    const { type, body } = multipart(implicit);
    const par = await exchange(`${gateway.url}/par`, {
      method: 'POST',
      headers: { 'content-type': type },
      body,
    });
    expect(par.status).toBe(400);
    // Pushed straight to the upstream (around scopegate): the redirect it answers is refused.
    const direct = await fetch(`${upstream.url}/par`, {
      method: 'POST',
      body: new URLSearchParams(implicit),
    });
    const { request_uri } = (await direct.json()) as { request_uri: string };
    const answer = await exchange(
      `${gateway.url}/authorize?client_id=c&request_uri=${encodeURIComponent(request_uri)}`,
    );
    await expectRefusedAnswer(answer);
  });

  it('refuses a body it cannot read on the authorization endpoint', async () => {
    const answer = await exchange(`${gateway.url}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<r><response_type>token</response_type></r>',
    });
    await expectRefusedAnswer(answer, 400);
    expect(JSON.parse(answer.body.toString('utf8')).error).toBe('invalid_request');
  });

  it('refuses a multipart body it cannot take apart', async () => {
    const answer = await exchange(`${gateway.url}/anything`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=nope' },
      body: 'response_type=token',
    });
    expect(answer.status).toBe(400);
  });
});
