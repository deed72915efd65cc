/**
 * form_post pages through the real proxy path, from a programmable upstream: which responses are
 * held and rewritten (HTML on any path, compressed or not), which pass untouched (pages that
 * are no authorization response, JSON, HEAD), and which are refused with an OAuth error instead
 * of reaching the browser (pages too large to screen among them).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREEN_LIMIT } from '../../proxy/relay/front-channel-screen.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const ISSUER = 'https://gateway.test';
let upstreamIssuer: string;
let upstreamUrl: string;
let gateway: TestGateway;
const seen: IncomingHttpHeaders[] = [];
let close: () => void;

const formPage = (iss: string, extra = '') =>
  '<!DOCTYPE html><html><body><form method="post" action="https://app.example.com/cb">' +
  `<input type="hidden" name="code" value="c-1"/><input type="hidden" name="iss" value="${iss}"/>` +
  `${extra}</form></body></html>`;

type Answer = (res: ServerResponse) => void;
const html = (body: string | Buffer, headers: Record<string, string> = {}, status = 200) =>
  ((res) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
    res.end(body);
  }) satisfies Answer;

const routes = new Map<string, Answer>();

beforeAll(async () => {
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const answer = routes.get(req.url ?? '');
    if (answer) answer(res);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  upstreamIssuer = `${upstreamUrl}/realms/main`;
  close = () => {
    server.close();
    server.closeAllConnections();
  };
  const page = formPage(upstreamIssuer);
  routes.set('/auth/resume', html(page));
  routes.set('/login-actions/authenticate', html(page, {}, 400));
  routes.set('/gzip', html(gzipSync(page), { 'content-encoding': 'gzip', etag: '"e1"' }));
  routes.set('/br', html(brotliCompressSync(page), { 'content-encoding': 'br' }));
  routes.set('/deflate', html(deflateSync(page), { 'content-encoding': 'deflate' }));
  routes.set('/corrupt', html(gzipSync(page).subarray(0, 40), { 'content-encoding': 'gzip' }));
  routes.set('/unknown-coding', html(page, { 'content-encoding': 'compress' }));
  routes.set('/foreign', html(formPage('https://other.example')));
  routes.set('/id-token', html(formPage(upstreamIssuer, '<input name="id_token" value="x.y.z">')));
  routes.set('/json', (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ iss: upstreamIssuer }));
  });
  routes.set('/login', html('<html><form><input name="username"></form></html>'));
  // Larger than the cap, sent chunked: refused once the cap is passed.
  const large = `${'<p>filler</p>'.repeat(Math.ceil(SCREEN_LIMIT / 13) + 10)}${page}`;
  routes.set('/large', (res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    for (let at = 0; at < large.length; at += 16_384) res.write(large.slice(at, at + 16_384));
    res.end();
  });
  routes.set('/large-declared', html(large));
  gateway = await startTestGateway({
    upstreamUrl,
    config: {
      issuer: ISSUER,
      upstream: {
        url: upstreamUrl,
        token_path: '/token',
        issuer: upstreamIssuer,
        jwks_uri: `${upstreamUrl}/jwks`,
        timeout: '2s',
      },
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  close?.();
});

const get = (path: string, init: RequestInit = {}) =>
  fetch(`${gateway.url}${path}`, { redirect: 'manual', ...init });

describe('form_post pages through the proxy', () => {
  it.each([
    ['/auth/resume', 200],
    ['/login-actions/authenticate', 400],
    ['/gzip', 200],
    ['/br', 200],
    ['/deflate', 200],
  ])('rewrites iss on %s', async (path, status) => {
    const response = await get(path, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    const body = await response.text();
    expect(response.status).toBe(status);
    expect(body).toBe(formPage(ISSUER));
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    // Sent decoded: the upstream's coding and validators described other bytes.
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.headers.get('etag')).toBeNull();
    expect(response.headers.get('x-request-id')).toEqual(expect.any(String));
  });

  it.each([
    ['/json', 'application/json'],
    ['/login', 'text/html'],
  ])('passes %s as it came', async (path, type) => {
    const direct = await (await fetch(`${upstreamUrl}${path}`)).text();
    const response = await get(path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain(type);
    expect(await response.text()).toBe(direct);
  });

  it('refuses pages larger than the cap, declared or chunked: they cannot be screened', async () => {
    for (const path of ['/large', '/large-declared']) {
      const response = await get(path);
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ error: 'server_error' });
    }
  });

  it('answers HEAD without holding anything', async () => {
    const response = await get('/auth/resume', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it.each([
    ['a foreign iss', '/foreign'],
    ['an id_token field', '/id-token'],
    ['a corrupt gzip body', '/corrupt'],
    ['a coding scopegate cannot decode', '/unknown-coding'],
  ])('refuses a page with %s', async (_name, path) => {
    const response = await get(path);
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toMatchObject({ error: 'server_error' });
  });

  it('offers the upstream only codings scopegate can decode', async () => {
    seen.length = 0;
    await (await get('/json', { headers: { 'accept-encoding': 'zstd;q=1, gzip, br' } })).text();
    const offered = String(seen[0]?.['accept-encoding']);
    expect(offered).toContain('gzip');
    expect(offered).toContain('br');
    const zlib = (await import('node:zlib')) as Record<string, unknown>;
    if (typeof zlib.zstdDecompressSync !== 'function') expect(offered).not.toContain('zstd');
  });
});
