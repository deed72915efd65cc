/**
 * The gateway's own upstream client (proxy/upstream/http-client.ts) against real servers on
 * loopback: answers in node:http's header shapes, the response cap enforced as bytes arrive (a
 * declared length over it refused before the body), one deadline for the whole exchange, a cut
 * body never taken as whole, connection failures named, a retired generation still answering
 * its last calls without keeping connections, and a plain-HTTP upstream reached through an
 * egress proxy in absolute form (no CONNECT), as before the move to undici.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamFailure, upstreamRequest } from '../../proxy/upstream/http-client.js';
import { nodeHeaders } from '../../proxy/upstream/node-headers.js';
import { UpstreamAgents } from '../../proxy/upstream/upstream-agents.js';
import { closedPortUrl } from '../support/closed-port.js';
import { startTinyproxy, type TestForwardProxy } from '../support/tinyproxy.js';

type Behaviour = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const behaviours = new Map<string, Behaviour>();
const sockets = new Set<Socket>();
let connections = 0;
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const behave = behaviours.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (behave) behave(req, res);
    else res.writeHead(404).end();
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const agentsUsed: UpstreamAgents[] = [];
afterEach(() => {
  for (const agents of agentsUsed.splice(0)) agents.close();
});

function freshAgents(): UpstreamAgents {
  const agents = new UpstreamAgents({ maxSockets: 8, connectTimeoutMs: 2000 });
  agentsUsed.push(agents);
  return agents;
}

function call(
  path: string,
  options: { timeoutMs?: number; max?: number; agents?: UpstreamAgents } = {},
) {
  return upstreamRequest({
    url: new URL(path, base),
    timeoutMs: options.timeoutMs ?? 2000,
    route: 'token',
    agents: options.agents ?? freshAgents(),
    ...(options.max === undefined ? {} : { maxResponseBytes: options.max }),
  });
}

async function failureOf(promise: Promise<unknown>): Promise<UpstreamFailure> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(UpstreamFailure);
  return error as UpstreamFailure;
}

describe("the upstream's answer", () => {
  it('has node:http header shapes: first of a single-valued header, Set-Cookie an array', async () => {
    behaviours.set('/shapes', (req, res) => {
      res.writeHead(200, [
        ['Content-Type', 'application/json'],
        ['Content-Type', 'text/html'],
        ['Set-Cookie', 'a=1'],
        ['Cache-Control', 'no-store'],
        ['Cache-Control', 'private'],
        ['X-Echo-Method', req.method ?? ''],
      ]);
      res.end('{"ok":true}');
    });
    const answer = await call('/shapes');
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('{"ok":true}');
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['set-cookie']).toEqual(['a=1']);
    expect(answer.headers['cache-control']).toBe('no-store, private');
    expect(answer.headers['x-echo-method']).toBe('GET');
  });

  it('sends the method, headers and body it is given', async () => {
    behaviours.set('/echo', (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () =>
        res.end(JSON.stringify({ method: req.method, type: req.headers['content-type'], body })),
      );
    });
    const answer = await upstreamRequest({
      url: new URL('/echo?x=1', base),
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '7' },
      body: 'a=1&b=2',
      timeoutMs: 2000,
      route: 'token',
      agents: freshAgents(),
    });
    expect(JSON.parse(answer.body.toString())).toEqual({
      method: 'POST',
      type: 'application/x-www-form-urlencoded',
      body: 'a=1&b=2',
    });
  });
});

describe('the response cap', () => {
  it('refuses a declared length over the cap without waiting for the body', async () => {
    behaviours.set('/declared', (_req, res) => {
      // Headers only: a client that buffered before counting would wait for the deadline.
      res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
      res.flushHeaders();
    });
    const failure = await failureOf(call('/declared', { max: 1024, timeoutMs: 10_000 }));
    expect(failure.kind).toBe('too_large');
  });

  it('refuses a chunked body once it passes the cap', async () => {
    behaviours.set('/chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('x'.repeat(800));
      res.write('x'.repeat(800));
      // Never ended: the cap, not the end of the body, stops the exchange.
    });
    const failure = await failureOf(call('/chunked', { max: 1024, timeoutMs: 10_000 }));
    expect(failure.kind).toBe('too_large');
  });
});

describe('deadlines and broken answers', () => {
  it('cuts an upstream that trickles its body within the timeout', async () => {
    behaviours.set('/trickle', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('x'), 50);
      res.once('close', () => clearInterval(timer));
    });
    const failure = await failureOf(call('/trickle', { timeoutMs: 400 }));
    expect(failure.kind).toBe('timeout');
  });

  it('never takes a body cut short for the whole answer', async () => {
    behaviours.set('/cut', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only ten b');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const failure = await failureOf(call('/cut'));
    expect(failure.kind).toBe('unreachable');
    expect(failure.message).toBe('upstream response broke');
  });

  it('names a connection that could not be made', async () => {
    const failure = await failureOf(
      upstreamRequest({
        url: new URL('/', await closedPortUrl()),
        timeoutMs: 2000,
        route: 'jwks',
        agents: freshAgents(),
      }),
    );
    expect(failure.kind).toBe('unreachable');
    expect(failure.message).toBe('upstream unreachable (ECONNREFUSED)');
  });
});

describe('a request that cannot be sent', () => {
  it("is the caller's error, not an unreachable upstream", async () => {
    const error = await upstreamRequest({
      url: new URL('/ok', base),
      headers: { 'x-broken': 'a\nb' },
      timeoutMs: 2000,
      route: 'token',
      agents: freshAgents(),
    }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UpstreamFailure);
  });
});

describe('a configuration generation', () => {
  it('reuses its connections, and once retired still answers without keeping any', async () => {
    behaviours.set('/ok', (_req, res) => res.end('ok'));
    const agents = freshAgents();
    const before = connections;
    for (let i = 0; i < 6; i += 1) expect((await call('/ok', { agents })).status).toBe(200);
    // Keep-alive: undici's pool may open a second connection while the first is being freed.
    expect(connections - before).toBeLessThanOrEqual(2);

    agents.close();
    const retiredAnswer = await call('/ok', { agents });
    expect(retiredAnswer.body.toString()).toBe('ok');
    // The retired generation's connections are closed once their requests are done.
    await expect
      .poll(() => [...sockets].filter((socket) => !socket.destroyed).length, { timeout: 2000 })
      .toBe(0);
  });
});

describe('a plain-HTTP upstream behind an egress proxy', () => {
  let tinyproxy: TestForwardProxy;
  beforeAll(async () => {
    tinyproxy = await startTinyproxy();
  });
  afterAll(async () => {
    await tinyproxy?.stop();
  });

  it('is asked in absolute form through the proxy, not through a CONNECT tunnel', async () => {
    behaviours.set('/via-proxy', (_req, res) => res.end('proxied'));
    const agents = new UpstreamAgents({
      proxy: tinyproxy.url,
      maxSockets: 4,
      connectTimeoutMs: 2000,
    });
    agentsUsed.push(agents);
    const answer = await call('/via-proxy', { agents });
    expect(answer.body.toString()).toBe('proxied');
    expect(await tinyproxy.requests()).toContain(`GET ${base}/via-proxy HTTP/1.1`);
  });
});

describe('nodeHeaders', () => {
  const cases: Array<[Record<string, string | string[]>, Record<string, string | string[]>]> = [
    [{ 'content-type': ['a/b', 'c/d'] }, { 'content-type': 'a/b' }],
    [{ location: ['/one', '/two'] }, { location: '/one' }],
    [{ 'retry-after': ['1', '2'] }, { 'retry-after': '1' }],
    [{ 'set-cookie': 'a=1' }, { 'set-cookie': ['a=1'] }],
    [{ 'set-cookie': ['a=1', 'b=2'] }, { 'set-cookie': ['a=1', 'b=2'] }],
    [{ vary: ['accept', 'origin'] }, { vary: 'accept, origin' }],
    [{ cookie: ['a=1', 'b=2'] }, { cookie: 'a=1; b=2' }],
    [{ 'x-single': 'v' }, { 'x-single': 'v' }],
  ];
  it.each(cases)('%j becomes %j', (parsed, expected) => {
    expect(nodeHeaders({ ...parsed })).toEqual(expected);
  });
});
