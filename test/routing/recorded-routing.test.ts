/**
 * Routing through a real gateway to a recording upstream: what the upstream receives is exactly
 * the canonical target (also below a base path), targets without one are refused 400 before
 * anything is proxied, every method on the token path is scopegate's, and every spelling of a
 * discovery document is scopegate's document. The upstream's raw token never reaches a client.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalTarget } from '../../proxy/http/request-target.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { rawMessage, rawRequest } from '../support/raw-http.js';
import {
  RAW_UPSTREAM_TOKEN,
  type RecordingUpstream,
  startRecordingUpstream,
} from './recording-upstream.js';
import { requestTarget, spellingOf } from './target-arbitrary.js';

const HOST = 'gateway.test';
const FUZZ_TARGETS = 400;

interface Setup {
  name: string;
  base: string;
  tokenPath: string;
  blocked: string;
}

const SETUPS: Setup[] = [
  { name: 'at the root', base: '', tokenPath: '/oauth/token', blocked: '/api/legacy' },
  {
    name: 'below a base path',
    base: '/realms/acme',
    tokenPath: '/realms/acme/protocol/openid-connect/token',
    blocked: '/realms/acme/legacy',
  },
];

describe.each(SETUPS)('a gateway in front of a recording upstream $name', (setup) => {
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let sequence = 0;

  beforeAll(async () => {
    upstream = await startRecordingUpstream({ tokenPath: setup.tokenPath });
    const url = `${upstream.url}${setup.base}`;
    gateway = await startTestGateway({
      upstreamUrl: url,
      // token_path unset: it comes from the recording upstream's discovery document.
      config: {
        upstream: { url, timeout: '2s', token_path: undefined, blocked_paths: [setup.blocked] },
      },
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  /** Sends `target` raw with a fresh request id; returns the answer and what the upstream got. */
  async function send(method: string, target: string, body = '') {
    const id = `routing-${++sequence}`;
    const answer = await rawRequest(
      gateway.url,
      rawMessage(
        method,
        target,
        {
          'x-request-id': id,
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body,
      ),
    );
    expect(answer.raw).not.toContain(RAW_UPSTREAM_TOKEN);
    return { answer, received: upstream.byRequestId(id) };
  }

  it.each([
    ['/a//b/./c/../d;x=1', '/a/b/d'],
    ['/%61pi/%7euser?q=%41&r', '/api/~user?q=%41&r'],
    ['/a"b', '/a%22b'],
    ['http://gateway.test/x/y?z', '/x/y?z'],
  ])('sends %s upstream as %s, below the base path', async (target, canonical) => {
    const { answer, received } = await send('GET', target);
    expect(answer.status).toBe(200);
    expect(received.map((request) => request.target)).toEqual([`${setup.base}${canonical}`]);
  });

  it.each([
    '/oauth%2ftoken',
    '/a%5cb',
    '/a/%00',
    '/%2e%2e/x',
    '/a/../../x',
    '/a/%c0%af',
    '/a/%zz',
    '/a?b=%z',
    'http://elsewhere.test/x',
  ])('refuses %s with 400 before anything is proxied', async (target) => {
    const { answer, received } = await send('POST', target, 'grant_type=client_credentials');
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request' });
    expect(received).toEqual([]);
  });

  const relative = (path: string) => (setup.base ? path.slice(setup.base.length) : path);

  it.each(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'])(
    'answers %s on the token path 405 without asking the upstream',
    async (method) => {
      for (const path of [setup.tokenPath, relative(setup.tokenPath)]) {
        const { answer, received } = await send(method, `${path}?grant_type=client_credentials`);
        expect(answer.status, path).toBe(405);
        expect(answer.headers.allow).toBe('POST, OPTIONS');
        expect(received).toEqual([]);
      }
    },
  );

  it('answers a preflight on the token path itself; its body never reaches the upstream', async () => {
    const { answer, received } = await send(
      'OPTIONS',
      setup.tokenPath,
      'grant_type=client_credentials&client_id=x',
    );
    expect(answer.status).toBe(204);
    expect(answer.headers.allow).toBe('POST, OPTIONS');
    expect(received).toEqual([]);
  });

  it('takes POST on every spelling of the token path, and never returns the raw token', async () => {
    for (const spelling of [
      setup.tokenPath,
      `${setup.tokenPath}/`,
      `${setup.tokenPath};jsessionid=1`,
      setup.tokenPath.toUpperCase(),
      `/x/..${setup.tokenPath}`,
      relative(setup.tokenPath),
    ]) {
      const { answer, received } = await send('POST', spelling, 'grant_type=client_credentials');
      // scopegate asked the upstream itself (at its token path) and refused its non-JWT answer.
      expect(answer.status, spelling).toBe(502);
      expect(received.map((request) => request.target)).toEqual([setup.tokenPath]);
    }
  });

  it.each(['.json', '/x', '/', '~', '%20'])(
    'refuses the token path with %s appended, sub-paths and suffixes alike',
    async (tail) => {
      const target = tail === '/' ? `${setup.tokenPath}//` : `${setup.tokenPath}${tail}`;
      const { answer, received } = await send('POST', target, 'grant_type=client_credentials');
      if (tail === '/') {
        // A trailing slash (even doubled) is the token path itself.
        expect(answer.status).toBe(502);
        expect(received.map((request) => request.target)).toEqual([setup.tokenPath]);
      } else {
        expect(answer.status).toBe(404);
        expect(received).toEqual([]);
      }
    },
  );

  it.each([
    '/.well-known/openid-configuration',
    '/.WELL-KNOWN/openid-configuration/',
    '/.well-known/openid-configuration.json',
    '/.well-known/%6fpenid-configuration;x',
    '/.well-known/oauth-authorization-server/realms/acme',
    '/x/../.well-known/oauth-authorization-server',
  ])("serves scopegate's own discovery document for %s", async (target) => {
    const { answer, received } = await send('GET', target);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ issuer: 'https://gateway.test' });
    expect(received).toEqual([]);
  });

  it(`fuzz: ${FUZZ_TARGETS} generated targets reach the upstream only as their canonical form`, async () => {
    const protectedPaths = [setup.tokenPath, setup.blocked, '/.well-known/openid-configuration'];
    const targets = fc.sample(fc.oneof(requestTarget, spellingOf(protectedPaths.map(relative))), {
      numRuns: FUZZ_TARGETS,
      seed: 7,
    });
    const outcomes = { proxied: 0, refused: 0, answered: 0 };
    for (const target of targets) {
      const { answer, received } = await send('GET', target);
      const canonical = canonicalTarget(target, HOST);
      if (received.length > 0) {
        outcomes.proxied++;
        expect(canonical.ok, target).toBe(true);
        if (!canonical.ok) continue;
        expect(received.map((request) => request.target)).toEqual([
          `${setup.base}${canonical.target}`,
        ]);
        expect(answer.status, target).toBe(200);
      } else if (answer.status === 400) {
        outcomes.refused++;
      } else {
        outcomes.answered++;
        expect(canonical.ok, target).toBe(true);
      }
    }
    console.info(`recorded routing fuzz ${setup.name}: ${JSON.stringify(outcomes)}`);
    expect(outcomes.proxied).toBeGreaterThan(0);
  });
});
