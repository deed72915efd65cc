/**
 * Everything scopegate does not intercept is proxied to the upstream untouched: method, path,
 * query, streamed bodies both ways, status and end-to-end headers. Hop-by-hop headers never
 * cross, X-Forwarded-* describe the real connection, and a dead or slow upstream gives JSON
 * 502/504 without taking the gateway down.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { closedPortUrl } from '../support/closed-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { chunkedBody, rawMessage, rawRequest } from '../support/raw-http.js';

interface Echo {
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface SinkRecord {
  method: string;
  url: string;
  length: number;
  sha256: string;
  headers: IncomingHttpHeaders;
}

let emulator: RunningAuth0Emulator;
let gateway: TestGateway;
/** Digests large bodies (the emulator caps its echo at 64 KiB) and sends hop-by-hop headers. */
let sink: Server;
let sinkRequests: SinkRecord[];
let sinkGateway: TestGateway;

beforeAll(async () => {
  emulator = await startAuth0Emulator({
    clients: [{ clientId: 'm2m', clientSecret: 's', grants: { api: ['a'] } }],
    defaultAudience: 'api',
  });
  sinkRequests = [];
  sink = createServer((req, res) => {
    if (req.url === '/stall') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      return;
    }
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      const record = {
        method: req.method ?? '',
        url: req.url ?? '',
        length,
        sha256: hash.digest('hex'),
        headers: req.headers,
      };
      sinkRequests.push(record);
      const text = JSON.stringify(record);
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'x-upstream-hop',
        'x-upstream-hop': 'secret-to-this-hop',
        'proxy-authenticate': 'Basic realm="upstream-proxy"',
        trailer: 'x-trailer',
        'x-end-to-end': 'kept',
      });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  [gateway, sinkGateway] = await Promise.all([
    startTestGateway({
      upstreamUrl: emulator.url,
      scopeRequest: 'omit',
      config: { upstream: { timeout: '400ms' } },
    }),
    startTestGateway({
      upstreamUrl: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
      config: {
        upstream: { issuer: emulator.issuer, jwks_uri: emulator.jwksUri, timeout: '1s' },
      },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), sinkGateway?.close()]);
  await emulator?.close();
  sink?.closeAllConnections();
  await new Promise<void>((resolve) => sink?.close(() => resolve()));
});

async function echo(path: string, init: RequestInit = {}) {
  const response = await fetch(`${gateway.url}${path}`, init);
  return { response, body: (await response.json()) as Echo };
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('request forwarding', () => {
  it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])(
    'keeps method, path and query (%s)',
    async (method) => {
      const hasBody = method !== 'GET';
      const { response, body } = await echo('/api/echo/a/b%20c?x=1&y=%2F&x=2', {
        method,
        ...(hasBody
          ? { body: `payload for ${method}`, headers: { 'content-type': 'text/plain' } }
          : {}),
      });
      expect(response.status).toBe(200);
      expect(body).toMatchObject({ method, path: '/api/echo/a/b%20c', query: '?x=1&y=%2F&x=2' });
      expect(body.body).toBe(hasBody ? `payload for ${method}` : '');
    },
  );

  it('rewrites Host to the upstream and keeps end-to-end headers', async () => {
    const { body } = await echo('/api/echo', {
      headers: { 'x-custom': 'one', authorization: 'Bearer abc', cookie: 'a=1; b=2' },
    });
    expect(body.headers.host).toBe(new URL(emulator.url).host);
    expect(body.headers).toMatchObject({
      'x-custom': 'one',
      authorization: 'Bearer abc',
      cookie: 'a=1; b=2',
    });
  });

  it('streams a 2 MiB request body through intact', async () => {
    const payload = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
    const response = await fetch(`${sinkGateway.url}/upload?big=1`, {
      method: 'PUT',
      body: payload,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(response.status).toBe(200);
    const record = (await response.json()) as SinkRecord;
    expect(record).toMatchObject({ method: 'PUT', url: '/upload?big=1', length: payload.length });
    expect(record.sha256).toBe(sha256(payload));
    expect(record.headers['content-length']).toBe(String(payload.length));
  });

  it('streams a chunked request body, re-chunked for the upstream', async () => {
    const parts = ['first part,', 'x'.repeat(100_000), ',last part'];
    const answer = await rawRequest(
      sinkGateway.url,
      rawMessage('POST', '/chunked', { 'transfer-encoding': 'chunked' }, chunkedBody(...parts)),
    );
    expect(answer.status).toBe(200);
    const record = JSON.parse(answer.body) as SinkRecord;
    expect(record.length).toBe(parts.join('').length);
    expect(record.sha256).toBe(sha256(parts.join('')));
    expect(record.headers['transfer-encoding']).toBe('chunked');
  });

  // Node drops the framing of a chunked body it has parsed. Proxied bare on a GET or DELETE,
  // the body would reach the upstream as a request of its own (request smuggling).
  it.each(['GET', 'DELETE', 'OPTIONS'])('keeps a chunked %s body a body', async (method) => {
    const smuggled =
      'POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 29\r\n\r\ngrant_type=client_credentials';
    const tokenRequestsBefore = emulator.tokenRequests().length;
    const answer = await rawRequest(
      gateway.url,
      rawMessage(method, '/api/echo', { 'transfer-encoding': 'chunked' }, chunkedBody(smuggled)),
    );
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body) as Echo;
    expect(body.method).toBe(method);
    expect(body.body).toBe(smuggled);
    // Give a smuggled request time to land, then check that none did.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emulator.tokenRequests().length).toBe(tokenRequestsBefore);
  });

  it('keeps a body framed when Connection names content-length', async () => {
    const smuggled = 'GET /oauth/token HTTP/1.1\r\nhost: x\r\n\r\n';
    const tokenRequestsBefore = emulator.tokenRequests().length;
    const answer = await rawRequest(
      gateway.url,
      rawMessage('GET', '/api/echo', { connection: 'close, content-length' }, smuggled),
    );
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.body) as Echo).body).toBe(smuggled);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emulator.tokenRequests().length).toBe(tokenRequestsBefore);
  });

  it('does not intercept paths that only start like the token path', async () => {
    const response = await fetch(`${gateway.url}/oauth/tokens`, { method: 'POST', body: 'x=1' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });

  it('answers a CORS preflight on the token path itself, without asking the upstream', async () => {
    const tokenRequestsBefore = emulator.tokenRequests().length;
    const response = await fetch(`${gateway.url}/oauth/token`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-methods')).toBe('POST');
    expect(emulator.tokenRequests().length).toBe(tokenRequestsBefore);
  });
});

describe('responses', () => {
  it.each([200, 201, 202, 400, 401, 403, 404, 409, 418, 500, 503])(
    'keeps status %i, its body, set-cookie and custom headers',
    async (status) => {
      const response = await fetch(`${gateway.url}/api/status/${status}`);
      expect(response.status).toBe(status);
      expect(response.headers.get('set-cookie')).toBe('emulator=yes; Path=/; HttpOnly');
      expect(response.headers.get('x-emulator')).toBe('yes');
      expect(await response.json()).toEqual({ status });
    },
  );

  it('keeps a 204 without a body', async () => {
    const response = await fetch(`${gateway.url}/api/status/204`);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  it('streams the response as the upstream produces it', async () => {
    const response = await fetch(`${gateway.url}/api/stream?chunks=20`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-emulator')).toBe('yes');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    let reads = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe(Array.from({ length: 20 }, (_, i) => `chunk ${i}\n`).join(''));
    // 10 ms between chunks upstream: a buffering proxy would deliver them in one read.
    expect(reads).toBeGreaterThan(2);
  });
});

describe('header hygiene', () => {
  it('strips hop-by-hop request headers, including those Connection names', async () => {
    const answer = await rawRequest(
      gateway.url,
      rawMessage('GET', '/api/echo', {
        connection: 'close, x-custom-hop',
        'x-custom-hop': '1',
        te: 'trailers',
        'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
        'proxy-connection': 'keep-alive',
        'keep-alive': 'timeout=99',
        trailer: 'x-trailer',
        'x-end-to-end': 'kept',
      }),
    );
    expect(answer.status).toBe(200);
    const headers = (JSON.parse(answer.body) as Echo).headers;
    for (const name of [
      'x-custom-hop',
      'te',
      'proxy-authorization',
      'proxy-connection',
      'keep-alive',
      'trailer',
    ]) {
      expect(headers, name).not.toHaveProperty(name);
    }
    expect(headers.connection).not.toContain('x-custom-hop');
    expect(headers['x-end-to-end']).toBe('kept');
  });

  it('neither forwards nor echoes an upgrade it does not tunnel', async () => {
    const answer = await rawRequest(
      gateway.url,
      rawMessage('GET', '/api/echo', { connection: 'Upgrade, close', upgrade: 'websocket' }),
    );
    expect(answer.status).toBe(200);
    const headers = (JSON.parse(answer.body) as Echo).headers;
    expect(headers).not.toHaveProperty('upgrade');
    // Connection is per hop: the upstream sees the pool's own, never the client's tokens.
    expect(headers.connection ?? '').not.toMatch(/upgrade|close/i);
    expect(answer.headers.connection).toBe('close');
  });

  it("keeps a client's Connection: close off the pooled upstream connections", async () => {
    // rawMessage sends `connection: close`. Forwarded, it would have the upstream drop a socket
    // the pool then hands to the next
    // client, whose request would fail through no fault of its own.
    const answer = await rawRequest(sinkGateway.url, rawMessage('POST', '/closing', {}, 'hi'));
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    for (let round = 0; round < 3; round++) {
      expect((await fetch(`${sinkGateway.url}/after-close-${round}`)).status).toBe(200);
    }
  });

  it('strips hop-by-hop response headers', async () => {
    const response = await fetch(`${sinkGateway.url}/hop`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-upstream-hop')).toBeNull();
    expect(response.headers.get('proxy-authenticate')).toBeNull();
    expect(response.headers.get('trailer')).toBeNull();
    expect(response.headers.get('connection')).not.toContain('x-upstream-hop');
    expect(response.headers.get('x-end-to-end')).toBe('kept');
  });

  it('sets X-Forwarded-* from the connection and discards spoofed values', async () => {
    const { body } = await echo('/api/echo', {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-port': '443',
        'x-forwarded-prefix': '/evil',
        'x-real-ip': '6.6.6.6',
        forwarded: 'for=6.6.6.6;proto=https',
      },
    });
    expect(body.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(body.headers['x-forwarded-proto']).toBe('http');
    // The issuer's host, never the client's Host.
    expect(body.headers['x-forwarded-host']).toBe(new URL(gateway.config.issuer as string).host);
    for (const name of ['forwarded', 'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip']) {
      expect(body.headers, name).not.toHaveProperty(name);
    }
  });

  it('propagates a well-formed x-request-id both ways', async () => {
    const { response, body } = await echo('/api/echo', {
      headers: { 'x-request-id': 'req-123.abc' },
    });
    expect(response.headers.get('x-request-id')).toBe('req-123.abc');
    expect(body.headers['x-request-id']).toBe('req-123.abc');
  });

  it('replaces a malformed x-request-id and generates one when absent', async () => {
    const spoofed = await echo('/api/echo', { headers: { 'x-request-id': 'bad id with spaces' } });
    const id = spoofed.response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(spoofed.body.headers['x-request-id']).toBe(id);
    const none = await echo('/api/echo');
    const generated = none.response.headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated).not.toBe(id);
    expect(none.body.headers['x-request-id']).toBe(generated);
  });
});

describe('malformed request targets', () => {
  // Node's parser lets these through; http-proxy-3 throws on them synchronously, which would
  // escape the request handler and take the process down.
  it.each(['http://a:99999/x', 'http://[/x', 'http://%zz/x'])(
    'answers %s with 400 JSON and keeps serving',
    async (target) => {
      const answer = await rawRequest(gateway.url, rawMessage('GET', target));
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request' });
      expect((await fetch(`${gateway.url}/api/status/200`)).status).toBe(200);
    },
  );

  it('proxies an absolute-form target for its own host by its path', async () => {
    // rawMessage sends `host: gateway.test`.
    const answer = await rawRequest(
      gateway.url,
      rawMessage('GET', 'http://gateway.test/api/echo/abs?q=1'),
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ path: '/api/echo/abs', query: '?q=1' });
  });

  it('refuses an absolute-form target for another host', async () => {
    const answer = await rawRequest(
      gateway.url,
      rawMessage('GET', 'http://elsewhere.example/api/echo/abs?q=1'),
    );
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request' });
  });
});

describe('upstream failures', () => {
  it('answers 502 JSON when the upstream is unreachable', async () => {
    const down = await startTestGateway({ upstreamUrl: await closedPortUrl() });
    try {
      const response = await fetch(`${down.url}/api/echo`);
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable' });
    } finally {
      await down.close();
    }
  });

  it('answers 504 JSON when the upstream is too slow, and keeps serving', async () => {
    const started = Date.now();
    const response = await fetch(`${gateway.url}/api/slow?ms=3000`);
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect(Date.now() - started).toBeLessThan(2000);
    const next = await fetch(`${gateway.url}/api/slow?ms=10`);
    expect(next.status).toBe(200);
    expect(await next.text()).toBe('slow');
    expect((await fetch(`${gateway.adminUrl}/healthz`)).status).toBe(200);
  });

  it('cuts a stream that stalls after its headers instead of hanging', async () => {
    const started = Date.now();
    const response = await fetch(`${sinkGateway.url}/stall`);
    expect(response.status).toBe(200);
    // The status is out already: the only honest signal left is closing the connection.
    await expect(response.text()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(4000);
    expect((await fetch(`${sinkGateway.url}/after-stall`)).status).toBe(200);
  });
});
