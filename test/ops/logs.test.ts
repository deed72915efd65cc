import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger, isoTimestamp, wantsPretty } from '../../proxy/observability/log.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { LogCapture, postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/wait.js';

const API = 'https://api.example.com';
const SECRET = 'sEcReT-client-9f1c2e7a';
const WRONG_SECRET = 'wrong-secret-5b8d1c33';
const REFRESH = 'refresh-token-77a1e0b4';
const PASSWORD = 'hunter2-password-c0ffee';
const ASSERTION =
  'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtMm0iLCJqdGkiOiJhc3NlcnRpb24ifQ.c2lnbmF0dXJlLWFzc2VydGlvbg';
const CLIENT_ASSERTION =
  'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJtMm0iLCJqdGkiOiJjbGllbnQifQ.c2lnbmF0dXJlLWNsaWVudA';
const SUBJECT_TOKEN = 'subject-token-1e2d3c4b';
/** Any JWS compact serialisation: no token of any kind belongs in a log line. */
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/;

let upstream: RunningAuth0Emulator;
let gateway: TestGateway;
const issuedTokens: string[] = [];
let tokenRequests = 0;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [
      { clientId: 'm2m', clientSecret: SECRET, grants: { [API]: ['read:claims', 'write:claims'] } },
    ],
    defaultAudience: API,
  });
  gateway = await startTestGateway({ upstreamUrl: upstream.url, scopeRequest: 'omit' });
  await waitFor(() => gateway.instance.readiness().ready, 'readiness');
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function token(
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  tokenRequests++;
  const response = await postForm(`${gateway.url}/oauth/token`, params, headers);
  const body = (await response.clone().json()) as { access_token?: string };
  if (body.access_token) issuedTokens.push(body.access_token);
  return response;
}

function accessLines() {
  return gateway.logs.records().filter((record) => record.msg === 'token request');
}

describe('logs carry no secrets', () => {
  it('makes token requests that carry every kind of credential and token', async () => {
    // client_secret in the body; success with the upstream token re-issued.
    expect(
      (
        await token({
          grant_type: 'client_credentials',
          client_id: 'm2m',
          client_secret: SECRET,
          scope: 'read:claims',
        })
      ).status,
    ).toBe(200);
    // Basic authentication.
    const basic = Buffer.from(`m2m:${SECRET}`).toString('base64');
    expect(
      (await token({ grant_type: 'client_credentials' }, { authorization: `Basic ${basic}` }))
        .status,
    ).toBe(200);
    // A wrong secret: the upstream refuses it, the gateway passes the error through.
    expect(
      (
        await token({
          grant_type: 'client_credentials',
          client_id: 'm2m',
          client_secret: WRONG_SECRET,
        })
      ).status,
    ).toBe(401);
    // JSON body.
    tokenRequests++;
    const json = await fetch(`${gateway.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'm2m',
        client_secret: SECRET,
      }),
    });
    expect(json.status).toBe(200);
    issuedTokens.push(((await json.json()) as { access_token: string }).access_token);
    // Private-key JWT client authentication, refresh token, password, JWT bearer, token exchange.
    await token({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: CLIENT_ASSERTION,
    });
    await token({
      grant_type: 'refresh_token',
      refresh_token: REFRESH,
      client_id: 'm2m',
      client_secret: SECRET,
    });
    await token({
      grant_type: 'password',
      username: 'alice',
      password: PASSWORD,
      client_id: 'm2m',
    });
    await token({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: ASSERTION,
    });
    await token({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: SUBJECT_TOKEN,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    });
    // Refused by the gateway itself, before the upstream: a repeated parameter.
    tokenRequests++;
    const repeated = await fetch(`${gateway.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_secret=${SECRET}&client_secret=${SECRET}`,
    });
    expect(repeated.status).toBe(400);
    expect(issuedTokens.length).toBe(3);
  });

  it('writes none of them, nor any token, at debug level', () => {
    const text = gateway.logs.text();
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [
      SECRET,
      WRONG_SECRET,
      REFRESH,
      PASSWORD,
      ASSERTION,
      CLIENT_ASSERTION,
      SUBJECT_TOKEN,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain(Buffer.from(`m2m:${SECRET}`).toString('base64'));
    for (const issued of issuedTokens) {
      expect(text).not.toContain(issued);
      // Not even the signature part alone.
      expect(text).not.toContain(issued.split('.')[2] as string);
    }
    expect(text).not.toMatch(JWT_LIKE);
  });

  it('writes one access line per token request, with the fields operators need', () => {
    const lines = accessLines();
    expect(lines).toHaveLength(tokenRequests);
    const first = lines[0] as Record<string, unknown>;
    expect(first).toMatchObject({
      level: 30,
      route: 'token',
      clientId: 'm2m',
      grantType: 'client_credentials',
      requestedScopes: 1,
      issuedScopes: 1,
      outcome: 'narrowed',
      status: 200,
      upstreamStatus: 200,
    });
    expect(first).toMatchObject({ method: 'POST', path: '/oauth/token' });
    expect(first.requestId).toBeTypeOf('string');
    expect(first.durationMs).toBeTypeOf('number');
    expect(first.bytes).toBeGreaterThan(0);
    expect(first.time).toBeTypeOf('string');
    const refused = lines[2] as Record<string, unknown>;
    expect(refused).toMatchObject({ outcome: 'upstream_error', status: 401, upstreamStatus: 401 });
    const basic = lines[1] as Record<string, unknown>;
    // The client id from Basic authentication, never its secret.
    expect(basic.clientId).toBe('m2m');
  });
});

describe('request ids', () => {
  it('propagates the caller request id to the upstream, the response and the access line', async () => {
    const response = await token(
      { grant_type: 'client_credentials', client_id: 'm2m', client_secret: SECRET },
      { 'x-request-id': 'trace-4711.a' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('trace-4711.a');
    expect(upstream.tokenRequests().at(-1)?.headers['x-request-id']).toBe('trace-4711.a');
    expect(accessLines().at(-1)?.requestId).toBe('trace-4711.a');
  });

  it('makes one when the caller sends none or a malformed one, and forwards it on proxied requests', async () => {
    const response = await fetch(`${gateway.url}/api/echo/here`, {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    const echoed = (await response.json()) as { headers: Record<string, string> };
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(echoed.headers['x-request-id']).toBe(id);
  });
});

describe('the logger', () => {
  it('redacts credentials and tokens even when a call passes them by mistake', () => {
    const capture = new LogCapture();
    const logger = createLogger({ level: 'info', format: 'json', destination: capture });
    logger.info(
      {
        client_secret: 'a1',
        headers: { authorization: 'Basic a2', cookie: 'a3' },
        body: { code: 'a4', client_assertion: 'a5', refresh_token: 'a6' },
        req: { headers: { authorization: 'Bearer a7' } },
        err: { code: 'ECONNREFUSED' },
      },
      'oops',
    );
    const text = capture.text();
    for (const secret of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7']) {
      expect(text).not.toContain(`"${secret}"`);
      expect(text).not.toContain(` ${secret}"`);
    }
    // Error codes stay readable.
    expect(text).toContain('ECONNREFUSED');
  });

  it('stamps every line with the ISO time of its own millisecond', () => {
    vi.useFakeTimers();
    try {
      vi.setSystemTime(new Date('2026-03-04T05:06:07.008Z'));
      const capture = new LogCapture();
      const logger = createLogger({ level: 'info', format: 'json', destination: capture });
      logger.info('first');
      expect(isoTimestamp()).toBe(',"time":"2026-03-04T05:06:07.008Z"');
      vi.setSystemTime(new Date('2026-03-04T05:06:07.009Z'));
      logger.info('second');
      vi.setSystemTime(new Date('2027-01-01T00:00:00.000Z'));
      logger.info('third');
      expect(capture.records().map((record) => record.time)).toEqual([
        '2026-03-04T05:06:07.008Z',
        '2026-03-04T05:06:07.009Z',
        '2027-01-01T00:00:00.000Z',
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('is human-readable only for a person at a terminal, outside production', () => {
    expect(wantsPretty({ level: 'info', format: 'auto', isTerminal: true, env: {} })).toBe(true);
    expect(
      wantsPretty({
        level: 'info',
        format: 'auto',
        isTerminal: true,
        env: { NODE_ENV: 'production' },
      }),
    ).toBe(false);
    expect(wantsPretty({ level: 'info', format: 'auto', isTerminal: false, env: {} })).toBe(false);
    expect(wantsPretty({ level: 'info', format: 'pretty', isTerminal: false, env: {} })).toBe(true);
    expect(wantsPretty({ level: 'info', format: 'json', isTerminal: true, env: {} })).toBe(false);
  });
});
