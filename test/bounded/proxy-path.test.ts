/**
 * Bounded proxy path: an upstream that dies mid-response ends the client's response at once;
 * slow upstream headers and bodies and slow client headers and bodies are cut close to their
 * configured timeouts; framing errors and timeouts, on the token path too, are answered with
 * OAuth error JSON whose error_description stays in the RFC 6749 §5.2 character set.
 *
 * The upstream here is a raw TCP server, so it can stop, trickle or die at any byte.
 */
import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const UPSTREAM_TIMEOUT_MS = 2500;
const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 1500;
/** "Within a second" of a timeout, plus room for a loaded 2-core CI machine. */
const CUT_SLACK_MS = 1000 + 1500;
/** RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E. */
const DESCRIPTION_CHARSET = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

let upstream: Server;
const upstreamSockets = new Set<Socket>();
let gateway: TestGateway;

/** What the raw upstream does, by request path. */
function behave(path: string, socket: Socket): void {
  const head = (extra: string) =>
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n${extra}\r\n`);
  switch (path) {
    case '/ok':
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
      return;
    case '/die-mid-body':
      head('content-length: 1000\r\n');
      socket.write('only ten b');
      setTimeout(() => socket.destroy(), 50);
      return;
    case '/die-mid-chunks':
      head('transfer-encoding: chunked\r\n');
      socket.write('5\r\nhello\r\n');
      setTimeout(() => socket.destroy(), 50);
      return;
    case '/trickle': {
      head('transfer-encoding: chunked\r\n');
      const timer = setInterval(() => socket.write('1\r\nx\r\n'), 200);
      socket.on('close', () => clearInterval(timer));
      return;
    }
    default:
      // /no-headers and anything else: read the request, never answer.
      return;
  }
}

beforeAll(async () => {
  upstream = net.createServer((socket) => {
    upstreamSockets.add(socket);
    socket.on('close', () => upstreamSockets.delete(socket));
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      if (received.includes('\r\n\r\n')) return;
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) behave(received.split(' ')[1] ?? '/', socket);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await startTestGateway({
    upstreamUrl: url,
    config: {
      upstream: {
        issuer: `${url}/`,
        jwks_uri: `${url}/jwks`,
        timeout: `${UPSTREAM_TIMEOUT_MS}ms`,
      },
      server: {
        watch_config: false,
        headers_timeout: `${HEADERS_TIMEOUT_MS}ms`,
        request_timeout: `${REQUEST_TIMEOUT_MS}ms`,
      },
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  for (const socket of upstreamSockets) socket.destroy();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

interface Exchange {
  status: number;
  head: string;
  body: string;
  /** ms from the connection until the first byte of the answer. */
  answeredAfterMs: number;
  /** ms from the connection until the gateway closed it. */
  closedAfterMs: number;
}

/**
 * Sends `parts` (strings are written, numbers are pauses) and reads until the gateway closes
 * the connection; fails after `limitMs` so that a hang is a failure, not a stuck test.
 */
function exchange(parts: Array<string | number>, limitMs = 15_000): Promise<Exchange> {
  const { hostname, port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let answeredAfterMs = Number.NaN;
    const limit = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the gateway kept the connection open for ${limitMs} ms`));
    }, limitMs);
    socket.on('connect', async () => {
      for (const part of parts) {
        if (socket.destroyed) return;
        if (typeof part === 'number') await new Promise((done) => setTimeout(done, part));
        else socket.write(part);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      if (chunks.length === 0) answeredAfterMs = Date.now() - started;
      chunks.push(chunk);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(limit);
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      resolve({
        status: Number(raw.split(' ')[1] ?? 0),
        head: split < 0 ? raw : raw.slice(0, split),
        body: split < 0 ? '' : raw.slice(split + 4),
        answeredAfterMs,
        closedAfterMs: Date.now() - started,
      });
    });
  });
}

function expectOAuthError(answer: Exchange, status: number): void {
  expect(answer.status, answer.head).toBe(status);
  expect(answer.head.toLowerCase()).toContain('content-type: application/json');
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(typeof body.error).toBe('string');
  expect(body.error_description).toMatch(DESCRIPTION_CHARSET);
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nhost: gateway.test\r\n\r\n`;

describe('an upstream that dies or dawdles', () => {
  it.each(['/die-mid-body', '/die-mid-chunks'])(
    '%s: the client connection closes at once, the body never looks complete',
    async (path) => {
      const answer = await exchange([GET(path)]);
      expect(answer.status).toBe(200);
      // Long before the upstream timeout: the death itself ended it.
      expect(answer.closedAfterMs).toBeLessThan(UPSTREAM_TIMEOUT_MS);
      if (path === '/die-mid-body') expect(answer.body.length).toBeLessThan(1000);
      else expect(answer.body).not.toContain('0\r\n\r\n');
    },
  );

  it('no response headers: 504 OAuth JSON near upstream.timeout', async () => {
    const answer = await exchange([
      GET('/no-headers').replace('\r\n\r\n', '\r\nconnection: close\r\n\r\n'),
    ]);
    expectOAuthError(answer, 504);
    expect(answer.answeredAfterMs).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 100);
    expect(answer.answeredAfterMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + CUT_SLACK_MS);
  });

  it('a body that trickles for ever is cut near upstream.timeout', async () => {
    const answer = await exchange([GET('/trickle')]);
    expect(answer.status).toBe(200);
    expect(answer.body).not.toContain('0\r\n\r\n');
    expect(answer.closedAfterMs).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 100);
    expect(answer.closedAfterMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + CUT_SLACK_MS);
  });

  it('keeps serving afterwards', async () => {
    const answer = await exchange([
      GET('/ok').replace('\r\n\r\n', '\r\nconnection: close\r\n\r\n'),
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ok');
  });
});

describe('a client that dawdles', () => {
  it('headers never completed: 408 OAuth JSON near server.headers_timeout', async () => {
    const answer = await exchange(['GET /ok HTTP/1.1\r\nhost: gateway.test\r\n']);
    expectOAuthError(answer, 408);
    expect(answer.answeredAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(answer.answeredAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + CUT_SLACK_MS);
  });

  it.each([
    ['the token path', '/oauth/token'],
    ['a proxied path', '/no-headers'],
  ])('body never completed on %s: 408 OAuth JSON near server.request_timeout', async (_, path) => {
    const answer = await exchange([
      `POST ${path} HTTP/1.1\r\nhost: gateway.test\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ngrant_type`,
    ]);
    expectOAuthError(answer, 408);
    expect(answer.answeredAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(answer.answeredAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + CUT_SLACK_MS);
  });
});

describe('framing errors', () => {
  const cases: Array<[name: string, bytes: string, status: number]> = [
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400],
    ['a malformed header', 'GET /ok HTTP/1.1\r\nhost: gateway.test\r\nbad header\r\n\r\n', 400],
    [
      'headers over the size limit',
      `GET /ok HTTP/1.1\r\nhost: gateway.test\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
    [
      'both content-length and chunked on the token path',
      'POST /oauth/token HTTP/1.1\r\nhost: gateway.test\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
    ],
    [
      'a bad chunk size on the token path',
      'POST /oauth/token HTTP/1.1\r\nhost: gateway.test\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n',
      400,
    ],
    [
      'a bad chunk size on a proxied path',
      'POST /ok HTTP/1.1\r\nhost: gateway.test\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n',
      400,
    ],
  ];
  it.each(cases)('%s: OAuth JSON, connection closed', async (_, bytes, status) => {
    const answer = await exchange([bytes]);
    expectOAuthError(answer, status);
    expect(answer.head.toLowerCase()).toContain('connection: close');
  });
});
